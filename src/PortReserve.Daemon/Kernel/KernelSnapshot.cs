using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>The table's state at one version, as the kernel sinks need it; one instance, reused by the committer for every write.</summary>
internal sealed class KernelSnapshot
{
    /// <summary>The table version the snapshot was taken at: every change up to it is covered.</summary>
    public long Version { get; set; }

    /// <summary>Every port the kernel list must hold: reservations of both protocols and the system exclusions.</summary>
    public PortSet All { get; } = new();

    /// <summary>The ports held by reservations (the entries the daemon owns).</summary>
    public PortSet Reserved { get; } = new();

    /// <summary>The table's changes since the previous snapshot, in order, for sinks that mirror reservations one by one.</summary>
    public List<ReservationChange> Changes { get; } = [];

    /// <summary>Filled by a sink: entries someone else added to the kernel, which must become system exclusions.</summary>
    public PortSet Discovered { get; } = new();
}
