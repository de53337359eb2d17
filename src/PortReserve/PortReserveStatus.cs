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

    /// <summary>The socket the daemon listens on.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The daemon's state directory.</summary>
    public required string StateDirectory { get; init; }
}
