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
    [property: JsonPropertyName("stateDirectory")] string StateDirectory)
{
    [JsonPropertyName("kernelListMatches")]
    public bool? KernelListMatches { get; init; }

    [JsonPropertyName("runtimeTcp")]
    public int RuntimeTcp { get; init; }

    [JsonPropertyName("runtimeUdp")]
    public int RuntimeUdp { get; init; }

    [JsonPropertyName("persistentTcp")]
    public int PersistentTcp { get; init; }

    [JsonPropertyName("persistentUdp")]
    public int PersistentUdp { get; init; }

    [JsonPropertyName("largestFreeTcpBlock")]
    public int LargestFreeTcpBlock { get; init; }

    [JsonPropertyName("largestFreeUdpBlock")]
    public int LargestFreeUdpBlock { get; init; }

    [JsonPropertyName("maxRuntimePortsPerUid")]
    public int MaxRuntimePortsPerUid { get; init; }

    [JsonPropertyName("maxRuntimeReservationsPerUid")]
    public int MaxRuntimeReservationsPerUid { get; init; }

    [JsonPropertyName("portserverAddress")]
    public string? PortServerAddress { get; init; }

    [JsonPropertyName("metricsAddress")]
    public string? MetricsAddress { get; init; }

    [JsonPropertyName("exclusiveBindsMode")]
    public string ExclusiveBindsMode { get; init; } = "off";

    [JsonPropertyName("exclusiveBindsActive")]
    public bool ExclusiveBindsActive { get; init; }

    [JsonPropertyName("exclusiveBindsDetail")]
    public string ExclusiveBindsDetail { get; init; } = string.Empty;

    [JsonPropertyName("configDirectories")]
    public IReadOnlyList<string> ConfigDirectories { get; init; } = [];

    [JsonPropertyName("declaredReservations")]
    public int DeclaredReservations { get; init; }

    [JsonPropertyName("declaredSources")]
    public IReadOnlyList<string> DeclaredSources { get; init; } = [];

    [JsonPropertyName("declarationProblemCount")]
    public int DeclarationProblemCount { get; init; }

    [JsonPropertyName("declarationProblems")]
    public IReadOnlyList<string> DeclarationProblems { get; init; } = [];

    [JsonPropertyName("refusedBinds")]
    public long RefusedBinds { get; init; }

    [JsonPropertyName("recentRefusedBinds")]
    public IReadOnlyList<string> RecentRefusedBinds { get; init; } = [];
}
