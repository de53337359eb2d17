namespace PortReserve.Daemon.Kernel;

/// <summary>
/// A requested change of the kernel list, taken under the service gate by <see cref="KernelPortSync.RequestCommit"/>.
/// Either wait for it (<see cref="WaitAsync"/>: the reply may go out once the kernel holds the change) or hand it to the
/// background writer (<see cref="Forget"/>); one of the two must be called.
/// </summary>
internal readonly struct KernelCommit
{
    private readonly KernelPortSync? _sync;
    private readonly Task? _done;

    internal KernelCommit(KernelPortSync sync, Task done)
    {
        _sync = sync;
        _done = done;
    }

    /// <summary>Completes once the kernel list holds the change; faults when the write failed.</summary>
    public ValueTask WaitAsync() => _sync is null ? ValueTask.CompletedTask : _sync.WaitAsync(_done!);

    /// <summary>Nobody waits: the background writer applies it soon.</summary>
    public void Forget() => _sync?.Kick();
}
