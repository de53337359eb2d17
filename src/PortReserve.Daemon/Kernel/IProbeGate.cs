namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Lets the daemon's own probe socket through the bind hook while it tests whether a reserved port is in use: the hook
/// refuses everyone else's binds to the port from the moment it is reserved, before that test (enforce, then check).
/// Probes run one at a time, under the table's lock.
/// </summary>
internal interface IProbeGate
{
    /// <summary>The socket with this cookie (SO_COOKIE) may bind any reserved port, until <see cref="Close"/>.</summary>
    void Open(ulong socketCookie);

    void Close();
}
