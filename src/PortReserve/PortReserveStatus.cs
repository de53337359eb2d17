namespace PortReserve;

/// <summary>The daemon's state as <c>portreserve status</c> shows it.</summary>
public sealed class PortReserveStatus
{
    /// <summary>The daemon's version.</summary>
    public required string Version { get; init; }

    /// <summary>How long the daemon has been running.</summary>
    public required TimeSpan Uptime { get; init; }

    /// <summary>The configured kernel sync mode: <c>auto</c>, <c>on</c> or <c>off</c>.</summary>
    public required string KernelSyncMode { get; init; }

    /// <summary>True when reservations are being written to the kernel's reserved port list.</summary>
    public required bool KernelSyncActive { get; init; }

    /// <summary>A sentence on the kernel sync state (which file, or why it is off).</summary>
    public required string KernelSyncDetail { get; init; }

    /// <summary>Live runtime reservations.</summary>
    public required int RuntimeReservations { get; init; }

    /// <summary>Persistent reservations.</summary>
    public required int PersistentReservations { get; init; }

    /// <summary>Ranges of the kernel list the daemon did not create.</summary>
    public required int SystemExclusions { get; init; }

    /// <summary>Open client connections.</summary>
    public required int Connections { get; init; }

    /// <summary>The first port wildcard requests may get.</summary>
    public required int WildcardStartPort { get; init; }

    /// <summary>The last port wildcard requests may get.</summary>
    public required int WildcardEndPort { get; init; }

    /// <summary>Whether the kernel's reserved port list held exactly the table's ports when asked; null when kernel sync is off.</summary>
    public bool? KernelListMatches { get; init; }

    /// <summary>Runtime reservations of TCP ports.</summary>
    public int RuntimeTcpReservations { get; init; }

    /// <summary>Runtime reservations of UDP ports.</summary>
    public int RuntimeUdpReservations { get; init; }

    /// <summary>Persistent reservations of TCP ports.</summary>
    public int PersistentTcpReservations { get; init; }

    /// <summary>Persistent reservations of UDP ports.</summary>
    public int PersistentUdpReservations { get; init; }

    /// <summary>The longest run of TCP ports a wildcard request could get (ports bound by sockets not counted).</summary>
    public int LargestFreeTcpBlock { get; init; }

    /// <summary>The longest run of UDP ports a wildcard request could get (ports bound by sockets not counted).</summary>
    public int LargestFreeUdpBlock { get; init; }

    /// <summary>The most runtime-reserved ports one non-root uid may hold.</summary>
    public int MaxRuntimePortsPerUid { get; init; }

    /// <summary>The most runtime reservations one non-root uid may hold.</summary>
    public int MaxRuntimeReservationsPerUid { get; init; }

    /// <summary>Where the portserver endpoint listens; null when it is off.</summary>
    public string? PortServerAddress { get; init; }

    /// <summary>Where Prometheus metrics are served; null when that is off.</summary>
    public string? MetricsAddress { get; init; }

    /// <summary>The exclusive binds setting: <c>auto</c>, <c>on</c> or <c>off</c>.</summary>
    public string ExclusiveBindsMode { get; init; } = "off";

    /// <summary>True when the kernel refuses binds to reserved ports by anyone but their holders (as Windows does).</summary>
    public bool ExclusiveBindsActive { get; init; }

    /// <summary>A sentence on exclusive binds: where the bind hooks are attached, or why they are off.</summary>
    public string ExclusiveBindsDetail { get; init; } = string.Empty;

    /// <summary>The reservations.d directories the daemon reads, in order (later ones override earlier ones by file name).</summary>
    public IReadOnlyList<string> ConfigDirectories { get; init; } = [];

    /// <summary>How many persistent reservations come from reservations.d files.</summary>
    public int DeclaredReservations { get; init; }

    /// <summary>The first declared reservations, each as "TCP 8080 at FILE:LINE"; <c>ShowAsync</c> lists them all.</summary>
    public IReadOnlyList<string> DeclaredSources { get; init; } = [];

    /// <summary>How many lines of the reservations.d files the last reload (or the start) skipped.</summary>
    public int DeclarationProblemCount { get; init; }

    /// <summary>The first of those, each as "FILE:LINE: reason".</summary>
    public IReadOnlyList<string> DeclarationProblems { get; init; } = [];

    /// <summary>How many binds to reserved ports the daemon's bind hook refused since it started.</summary>
    public long RefusedBinds { get; init; }

    /// <summary>The last of those, oldest first, each as "TCP port 443 by pid 1234 (nginx) uid 33"; the daemon's log says whose reservation refused each.</summary>
    public IReadOnlyList<string> RecentRefusedBinds { get; init; } = [];

    /// <summary>The socket the daemon listens on.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The daemon's state directory.</summary>
    public required string StateDirectory { get; init; }
}
