using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>The JSON form of <c>portreserve check</c>: the files read, how many reservations they declare, and every problem.</summary>
internal sealed record CheckJson(
    [property: JsonPropertyName("files")] string[] Files,
    [property: JsonPropertyName("reservations")] int Reservations,
    [property: JsonPropertyName("problems")] ProblemJson[] Problems);

/// <summary>One skipped line (or unreadable file, line 0) of a reservations.d file.</summary>
internal sealed record ProblemJson(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>The JSON form of <c>portreserve reload</c>.</summary>
internal sealed record ReloadJson(
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("added")] int Added,
    [property: JsonPropertyName("removed")] int Removed,
    [property: JsonPropertyName("updated")] int Updated,
    [property: JsonPropertyName("unchanged")] int Unchanged,
    [property: JsonPropertyName("problems")] ProblemJson[] Problems,
    [property: JsonPropertyName("totalProblems")] int TotalProblems);
