namespace PortReserve.Daemon.Kernel;

/// <summary>
/// A requested write of the table's state to the kernel, taken by the state's owner right after a change. Wait for it
/// (<see cref="WaitAsync"/>: the reply may go out once the kernel holds the change) or forget it: the writer makes it
/// either way. The default commit is already complete (no active sink).
/// </summary>
internal readonly struct KernelCommit
{
    internal KernelCommit(Task done) => Done = done;

    /// <summary>Completes once the kernel holds the change; faults with an <see cref="IOException"/> when the write failed.</summary>
    internal Task Done => field ?? Task.CompletedTask;

    public ValueTask WaitAsync() => new(Done);

    /// <summary>Nobody waits: the writer applies it soon (a failure is logged, and converged on by a later round).</summary>
    public void Forget()
    {
    }
}
