using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Metrics;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Group commit of the table's state to the kernel sinks. The state's owner requests a commit under its lock right after
/// each change (<see cref="Request"/>) and waits for it outside. A waiter that finds no write in progress writes at once
/// on its own thread (the uncontended case costs no thread hop); waiters that arrive during a write are all covered by
/// the next one, which the background writer makes. The event loop instead writes on its own thread, once per turn,
/// for every change its turn made (<see cref="CommitThrough"/>). A write round snapshots the state once and applies it
/// to every sink; one round at a time.
/// </summary>
internal sealed class KernelCommitter : IAsyncDisposable
{
    private readonly IKernelSink[] _sinks;
    private readonly IKernelState _state;
    private readonly DaemonCounters _counters;
    private readonly ILogger _logger;
    private readonly KernelSnapshot _snapshot = new();
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Queue<(long Version, TaskCompletionSource Done)> _waiters = new();
    private readonly Task _writer;
    private readonly Lock _writing = new();
    private long _written;

    public KernelCommitter(IEnumerable<IKernelSink> sinks, IKernelState state, DaemonCounters counters, ILogger logger)
    {
        _sinks = [.. sinks.Where(s => s.IsActive)];
        _state = state;
        _counters = counters;
        _logger = logger;
        _writer = _sinks.Length == 0 ? Task.CompletedTask : Task.Run(RunWriterAsync);
    }

    /// <summary>
    /// Asks for the state at <paramref name="version"/> to reach the kernel. Call under the state owner's lock, right
    /// after the change that made that version; then wait for or forget the commit outside the lock.
    /// </summary>
    public KernelCommit Request(long version)
    {
        if (_sinks.Length == 0)
        {
            return default;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Enqueue((version, done));
        }

        return new KernelCommit(this, done.Task);
    }

    /// <summary>
    /// Writes, on the calling thread, a round covering <paramref name="version"/> unless one already has (waiting for a
    /// round in progress first); returns the failure of the round that wrote it, or null.
    /// </summary>
    public Exception? CommitThrough(long version)
    {
        if (_sinks.Length == 0 || version <= Volatile.Read(ref _written))
        {
            return null;
        }

        Exception? failure;
        lock (_writing)
        {
            failure = version <= _written ? null : WriteRound();
        }

        KickIfWaiting();
        return failure;
    }

    /// <summary>
    /// Writes a round when a sink's kernel state drifted from what was written (an administrator rewrote the sysctl, a
    /// write failed), so the table is back in the kernel without waiting for an unrelated change. Skipped while another
    /// write runs: that write converges anyway.
    /// </summary>
    public void Reconcile()
    {
        if (_sinks.Length == 0 || !_writing.TryEnter())
        {
            return;
        }

        try
        {
            if (_sinks.Any(sink => sink.Drifted()))
            {
                WriteRound();
            }
        }
        finally
        {
            _writing.Exit();
        }

        KickIfWaiting();
    }

    public async ValueTask DisposeAsync()
    {
        _signal.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    /// <summary>Writes now when no write is in progress (the write covers <paramref name="done"/>'s change); otherwise queues it.</summary>
    internal ValueTask WaitAsync(Task done)
    {
        if (!done.IsCompleted && !TryWriteRound())
        {
            Kick();
        }

        return new ValueTask(done);
    }

    /// <summary>Wakes the background writer.</summary>
    internal void Kick() => _signal.Writer.TryWrite(true);

    private async Task RunWriterAsync()
    {
        while (await _signal.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _signal.Reader.TryRead(out _);

            // A failed attempt means an inline write is in progress; it kicks again when it leaves anything waiting.
            while (HasWaiters && TryWriteRound())
            {
            }
        }
    }

    private bool HasWaiters
    {
        get
        {
            lock (_waiters)
            {
                return _waiters.Count > 0;
            }
        }
    }

    /// <summary>One write covering every change requested so far, if no other write is in progress.</summary>
    private bool TryWriteRound()
    {
        if (!_writing.TryEnter())
        {
            return false;
        }

        try
        {
            WriteRound();
        }
        finally
        {
            _writing.Exit();
        }

        KickIfWaiting();
        return true;
    }

    /// <summary>Writes the state as it is now to every sink and settles the waiters it covers; call holding <see cref="_writing"/>.</summary>
    private Exception? WriteRound()
    {
        _state.Fill(_snapshot);
        Exception? failure = ApplyToSinks();
        if (failure is null)
        {
            Volatile.Write(ref _written, _snapshot.Version);
        }

        Complete(_snapshot.Version, failure);
        return failure;
    }

    /// <summary>Whoever queued behind a write while it ran is written next, by the background writer.</summary>
    private void KickIfWaiting()
    {
        if (HasWaiters)
        {
            Kick();
        }
    }

    /// <summary>
    /// Applies the snapshot to every sink, each whether or not another failed (each sink must see every change once),
    /// and returns the first failure, which fails the round.
    /// </summary>
    private Exception? ApplyToSinks()
    {
        Exception? failure = null;
        long roundStarted = Stopwatch.GetTimestamp();
        foreach (IKernelSink sink in _sinks)
        {
            _snapshot.Discovered.Clear();
            long started = Stopwatch.GetTimestamp();
            try
            {
                sink.Apply(_snapshot);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
            {
                DaemonLog.KernelWriteFailed(_logger, sink.Name, e);
                failure ??= e;
                continue;
            }

            DaemonLog.KernelListWritten(_logger, sink.Name, _snapshot.Version, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!_snapshot.Discovered.IsEmpty)
            {
                _state.Adopt(_snapshot.Discovered);
            }
        }

        // One kernel write per commit, however many sinks it took.
        _counters.OnKernelWrite(Stopwatch.GetElapsedTime(roundStarted));
        _snapshot.Changes.Clear();
        return failure;
    }

    private void Complete(long version, Exception? failure)
    {
        lock (_waiters)
        {
            while (_waiters.TryPeek(out (long Version, TaskCompletionSource Done) waiter) && waiter.Version <= version)
            {
                _waiters.Dequeue();
                if (failure is null)
                {
                    waiter.Done.SetResult();
                }
                else
                {
                    waiter.Done.SetException(failure);
                }
            }
        }
    }
}
