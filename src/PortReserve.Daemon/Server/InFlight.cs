namespace PortReserve.Daemon.Server;

/// <summary>
/// Work a component started and must see finish before it is disposed: requests being served, replies being sent. The
/// work calls <see cref="Enter"/> when it starts and <see cref="Exit"/> when it is done (in a finally), and handles its
/// own failures; <see cref="DrainAsync"/> completes once nothing is in flight. A counter, so tracking a request costs no
/// allocation.
/// </summary>
internal sealed class InFlight
{
    private int _count;
    private TaskCompletionSource? _drained;

    public int Count => Volatile.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    /// <summary>Completes when nothing is in flight. Call it once the component starts no more work.</summary>
    public Task DrainAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, drained);
        if (Volatile.Read(ref _count) == 0)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }
}
