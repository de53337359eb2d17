namespace PortReserve.Daemon.Kernel;

/// <summary>
/// A requested write of the table's state to the kernel, taken by the state's owner right after a change. Either wait for
/// it (<see cref="WaitAsync"/>: the reply may go out once the kernel holds the change) or hand it to the background writer
/// (<see cref="Forget"/>); one of the two must be called. The default commit is already complete (no active sink).
/// </summary>
internal readonly struct KernelCommit
{
    private readonly KernelCommitter? _committer;
    private readonly Task? _done;

    internal KernelCommit(KernelCommitter committer, Task done)
    {
        _committer = committer;
        _done = done;
    }

    /// <summary>Completes once the kernel holds the change; faults when a write failed.</summary>
    public ValueTask WaitAsync() => _committer is null || _done is null ? ValueTask.CompletedTask : _committer.WaitAsync(_done);

    /// <summary>Nobody waits: the background writer applies it soon.</summary>
    public void Forget() => _committer?.Kick();
}
