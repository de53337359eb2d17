namespace PortReserve.Daemon.Kernel;

/// <summary>
/// A place in the kernel that must hold the table's state before a change is acknowledged: today the reserved port
/// sysctl and the bind hook's maps. The committer calls every member from its one writer thread.
/// </summary>
internal interface IKernelSink : IDisposable
{
    /// <summary>What the sink writes, for logs ("/proc/sys/net/ipv4/ip_local_reserved_ports").</summary>
    string Name { get; }

    /// <summary>False when the sink was configured or found unable to write; the committer then leaves it out.</summary>
    bool IsActive { get; }

    /// <summary>
    /// Brings the kernel to <paramref name="snapshot"/>. Entries found in the kernel that nobody put there go into
    /// <see cref="KernelSnapshot.Discovered"/>. Throws <see cref="IOException"/> (or another I/O exception) when the kernel refused.
    /// </summary>
    void Apply(KernelSnapshot snapshot);

    /// <summary>
    /// True when the kernel no longer holds what the last <see cref="Apply"/> wrote (someone else rewrote it, or the last
    /// write failed), so the committer must write again; called between writes, never during one.
    /// </summary>
    bool Drifted() => false;

    /// <summary>Renews what the sink must keep renewing (the bind hook's lease); called once a reconcile tick, between writes.</summary>
    void Maintain()
    {
    }
}
