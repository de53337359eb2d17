using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>The JSON form of <c>status</c>.</summary>
internal sealed record StatusJson(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("uptimeSeconds")] double UptimeSeconds,
    [property: JsonPropertyName("kernelSyncMode")] string KernelSyncMode,
    [property: JsonPropertyName("kernelSyncActive")] bool KernelSyncActive,
    [property: JsonPropertyName("kernelSyncDetail")] string KernelSyncDetail,
    [property: JsonPropertyName("runtimeReservations")] int RuntimeReservations,
    [property: JsonPropertyName("persistentReservations")] int PersistentReservations,
    [property: JsonPropertyName("systemExclusions")] int SystemExclusions,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("wildcardRange")] string WildcardRange,
    [property: JsonPropertyName("socket")] string Socket,
    [property: JsonPropertyName("stateDirectory")] string StateDirectory);
