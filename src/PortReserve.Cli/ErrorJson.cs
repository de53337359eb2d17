using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>The JSON form of a failure: <c>{"error": KIND, "code": WSA_CODE, "message": ...}</c>.</summary>
internal sealed record ErrorJson(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string Message);
