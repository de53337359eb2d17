namespace PortReserve.Daemon.Kernel;

/// <summary>The owner of the state the committer writes: it takes snapshots under its own lock and adopts discovered entries.</summary>
internal interface IKernelState
{
    /// <summary>Fills <paramref name="snapshot"/> with the current state and its version, atomically.</summary>
    void Fill(KernelSnapshot snapshot);

    /// <summary>Takes ports found in the kernel that nobody put there as system exclusions.</summary>
    void Adopt(Reservations.PortSet discovered);
}
