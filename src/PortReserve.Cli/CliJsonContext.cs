using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>Source-generated JSON for the CLI's output shapes (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CheckJson))]
[JsonSerializable(typeof(ErrorJson))]
[JsonSerializable(typeof(ReloadJson))]
[JsonSerializable(typeof(ReservationJson[]))]
[JsonSerializable(typeof(TokenJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
