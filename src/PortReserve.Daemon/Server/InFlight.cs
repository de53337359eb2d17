namespace PortReserve.Daemon.Server;

/// <summary>
/// Work a component started and must see finish before it is disposed: requests being served, replies being sent. The
/// work handles its own failures; <see cref="DrainAsync"/> waits for all of it, including work added while it waits.
/// </summary>
internal sealed class InFlight
{
    private readonly HashSet<Task> _running = [];

    public int Count
    {
        get
        {
            lock (_running)
            {
                return _running.Count;
            }
        }
    }

    public void Add(Task work)
    {
        if (work.IsCompleted)
        {
            return;
        }

        lock (_running)
        {
            _running.Add(work);
        }

        work.ContinueWith(Remove, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task DrainAsync()
    {
        while (true)
        {
            Task[] running;
            lock (_running)
            {
                running = [.. _running];
            }

            if (running.Length == 0)
            {
                return;
            }

            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Remove(Task done)
    {
        lock (_running)
        {
            _running.Remove(done);
        }
    }
}
