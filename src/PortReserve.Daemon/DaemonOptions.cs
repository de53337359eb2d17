using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Kernel;
using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>The daemon's settings after parsing the command line; defaults are the embedded ones.</summary>
internal sealed record DaemonOptions
{
    public string SocketPath { get; init; } = DaemonPaths.DefaultSocket;

    public string StateDirectory { get; init; } = DaemonPaths.DefaultStateDirectory;

    public KernelSyncMode KernelSync { get; init; } = KernelSyncMode.Auto;

    /// <summary>Whether binds to reserved ports are refused to all but their holders (cgroup BPF bind hooks).</summary>
    public ExclusiveBindsMode ExclusiveBinds { get; init; } = ExclusiveBindsMode.Auto;

    /// <summary>The bpffs directory the bind hooks and their maps are pinned in, so that enforcement outlives the process.</summary>
    public string BpfDirectory { get; init; } = Kernel.Bpf.PinDirectory.DefaultPath;

    /// <summary>How long runtime reservations stay enforced while no daemon runs (persistent ones stay until removed).</summary>
    public TimeSpan RestartGrace { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The range wildcard requests are served from; null means the kernel's ip_local_port_range.</summary>
    public PortRange? WildcardRange { get; init; }

    /// <summary>Members of this group are administrators (besides root).</summary>
    public string AdminGroup { get; init; } = Server.AccessPolicy.DefaultAdminGroup;

    /// <summary>Where to serve Google's portserver protocol (a leading '@' is abstract); null for not at all.</summary>
    public string? PortServerAddress { get; init; }

    /// <summary>Where to serve Prometheus metrics: a Unix socket path or a loopback host:port; null for not at all.</summary>
    public string? MetricsListen { get; init; }

    public int MaxConnections { get; init; } = Server.ConnectionLimits.DefaultMaxTotal;

    public int MaxConnectionsPerUid { get; init; } = Server.ConnectionLimits.DefaultMaxPerUid;

    public int MaxRuntimeReservationsPerUid { get; init; } = Reservations.QuotaPolicy.Default.MaxRuntimeReservationsPerUid;

    public int MaxRuntimePortsPerUid { get; init; } = Reservations.QuotaPolicy.Default.MaxRuntimePortsPerUid;

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public string KernelListPath { get; init; } = ReservedPortsSink.DefaultPath;

    /// <summary>The reservations.d directories, in order: a file in a later one replaces the same-named file in an earlier one.</summary>
    public IReadOnlyList<string> ConfigDirectories { get; init; } = DaemonPaths.DefaultConfigDirectories;
}
