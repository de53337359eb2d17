using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The one writer to the kernel. Every write of the table's state to the kernel sinks happens on one thread, the event
/// loop's that serves the daemon's clients, one round at a time: a round snapshots the state once and applies it to
/// every sink, and answers every commit it covers (group commit). The state's owner requests a commit under its lock
/// right after each change (<see cref="Request"/>) and waits for it outside. A change the loop itself made is written
/// at the end of its turn, with every other change of that turn and no thread hop; one made on another thread (a
/// persistent request, a process exit, a reconcile tick) wakes the loop. The same thread checks once a tick whether a
/// sink drifted from what was written, and renews what sinks renew (<see cref="Reconcile"/>).
/// </summary>
/// <remarks>
/// Every waiter is answered: a round that throws anything fails the waiters it covers (with an <see cref="IOException"/>,
/// whatever was thrown), and a sink that failed reports itself drifted until a later round converged it on the whole
/// state. At <see cref="DisposeAsync"/> what was requested before is written; later requests fail at once. The one
/// kernel write made elsewhere is the bind hook's probe slot (<see cref="IProbeGate"/>), which the in-use check opens and
/// closes around its own probe bind, under the table's lock: it lets one socket of the daemon's through, and is no part
/// of the table's state.
/// </remarks>
internal sealed class KernelCommitter : IAsyncDisposable
{
    private readonly IKernelSink[] _sinks;
    private readonly IKernelState _state;
    private readonly DaemonCounters _counters;
    private readonly ILogger _logger;
    private readonly EventLoop? _loop;
    private readonly bool _ownsLoop;
    private readonly KernelSnapshot _snapshot = new();
    private readonly Queue<(long Version, TaskCompletionSource Done)> _waiters = new();
    private readonly Action _drain;
    private int _drainPosted;
    private bool _stopping;
    private long _requested;

    // Written on the loop's thread only; _written is also read elsewhere.
    private long _written;
    private long _lastRound;
    private IOException? _lastFailure;

    /// <param name="writer">The loop whose thread writes; without one the committer starts a loop of its own.</param>
    public KernelCommitter(IEnumerable<IKernelSink> sinks, IKernelState state, DaemonCounters counters, ILogger logger, EventLoop? writer = null)
    {
        _sinks = [.. sinks.Where(s => s.IsActive)];
        _state = state;
        _counters = counters;
        _logger = logger;
        _drain = Drain;
        if (_sinks.Length == 0)
        {
            return;
        }

        _ownsLoop = writer is null;
        _loop = writer ?? new EventLoop("portreserved kernel writer", logger);
        _loop.TurnEnded += OnTurnEnded;
        if (_ownsLoop)
        {
            _loop.Start();
        }
    }

    /// <summary>
    /// Asks for the state at <paramref name="version"/> to reach the kernel. Call under the state owner's lock, right
    /// after the change that made that version; then wait for the commit outside the lock, or forget it.
    /// </summary>
    public KernelCommit Request(long version)
    {
        if (_loop is null)
        {
            return default;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_stopping)
            {
                done.SetException(Stopped());
                return new KernelCommit(done.Task);
            }

            _waiters.Enqueue((version, done));
            _requested = Math.Max(_requested, version);
        }

        // The loop's own changes are written at the end of its turn; anyone else's wakes it, as does one made while the
        // turn ends (a grant the kernel refused, taken back after its commit), which must not wait for another turn.
        if (!_loop.IsCurrent || _loop.EndingTurn)
        {
            PostDrain();
        }

        return new KernelCommit(done.Task);
    }

    /// <summary>
    /// Makes sure a round covering <paramref name="version"/> was written and returns that round's failure, or null. On
    /// the loop's thread it writes at once when no round has covered the version yet; elsewhere it blocks until the loop
    /// has (for tests and tools; the daemon's other threads await <see cref="Request"/> instead).
    /// </summary>
    public Exception? CommitThrough(long version)
    {
        if (_loop is null || version <= Volatile.Read(ref _written))
        {
            return null;
        }

        if (!_loop.IsCurrent)
        {
            try
            {
                Request(version).Done.GetAwaiter().GetResult();
                return null;
            }
            catch (IOException e)
            {
                return e;
            }
        }

        if (version > _lastRound)
        {
            WriteRound();
        }

        return version <= _written ? null : _lastFailure;
    }

    /// <summary>
    /// Asks the writer to renew what its sinks renew and to write again where a sink's kernel state drifted from what was
    /// written (an administrator rewrote the sysctl, a write failed), so the table is back in the kernel without waiting
    /// for an unrelated change.
    /// </summary>
    public void Reconcile() => _loop?.Post(ReconcileNow);

    /// <summary>Writes what was requested before, then refuses further requests.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_loop is null)
        {
            return;
        }

        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _stopping = true;
        }

        _loop.Post(() =>
        {
            Drain();
            drained.SetResult();
        });
        await drained.Task.ConfigureAwait(false);
        _loop.TurnEnded -= OnTurnEnded;
        if (_ownsLoop)
        {
            _loop.Dispose();
        }
    }

    private static IOException Stopped() => new("the daemon is stopping");

    private void PostDrain()
    {
        if (Interlocked.Exchange(ref _drainPosted, 1) == 0)
        {
            _loop!.Post(_drain);
        }
    }

    private void Drain()
    {
        Volatile.Write(ref _drainPosted, 0);
        OnTurnEnded();
    }

    /// <summary>At the end of each turn: one round when anyone waits for a change no round covered yet.</summary>
    private void OnTurnEnded()
    {
        long wanted;
        lock (_waiters)
        {
            wanted = _waiters.Count == 0 ? 0 : _requested;
        }

        if (wanted > _lastRound)
        {
            WriteRound();
        }
        else if (wanted > 0)
        {
            Complete();
        }
    }

    private void ReconcileNow()
    {
        foreach (IKernelSink sink in _sinks)
        {
            try
            {
                sink.Maintain();
            }
            catch (Exception e)
            {
                DaemonLog.KernelWriteFailed(_logger, sink.Name, e);
            }
        }

        if (_sinks.Any(Drifted))
        {
            WriteRound();
        }
    }

    /// <summary>A sink whose drift check fails is taken to have drifted: the round that follows finds out.</summary>
    private bool Drifted(IKernelSink sink)
    {
        try
        {
            return sink.Drifted();
        }
        catch (Exception e)
        {
            DaemonLog.KernelWriteFailed(_logger, sink.Name, e);
            return true;
        }
    }

    /// <summary>Writes the state as it is now to every sink, and answers every waiter it covers.</summary>
    private void WriteRound()
    {
        IOException? failure;
        try
        {
            _state.Fill(_snapshot);
            failure = ApplyToSinks();
        }
        catch (Exception e)
        {
            // The state's snapshot threw: a fault of the daemon's, logged, and nobody is left waiting for the round it broke.
            DaemonLog.KernelWriteFailed(_logger, "the kernel state", e);
            failure = e as IOException ?? new IOException($"the kernel write failed: {e.Message}", e);
            lock (_waiters)
            {
                _snapshot.Version = Math.Max(_snapshot.Version, _requested);
            }
        }

        _lastRound = Math.Max(_lastRound, _snapshot.Version);
        _lastFailure = failure;
        if (failure is null)
        {
            Volatile.Write(ref _written, _lastRound);
        }

        Complete();
    }

    /// <summary>
    /// Applies the snapshot to every sink, each whether or not another failed (each sink must see every change once),
    /// and returns the first failure, which fails the round. Whatever a sink throws is a failed write.
    /// </summary>
    private IOException? ApplyToSinks()
    {
        IOException? failure = null;
        long roundStarted = Stopwatch.GetTimestamp();
        try
        {
            foreach (IKernelSink sink in _sinks)
            {
                _snapshot.Discovered.Clear();
                long started = Stopwatch.GetTimestamp();
                try
                {
                    sink.Apply(_snapshot);
                }
                catch (Exception e)
                {
                    DaemonLog.KernelWriteFailed(_logger, sink.Name, e);
                    failure ??= e as IOException ?? new IOException($"writing {sink.Name} failed: {e.Message}", e);
                    continue;
                }

                DaemonLog.KernelListWritten(_logger, sink.Name, _snapshot.Version, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!_snapshot.Discovered.IsEmpty)
                {
                    _state.Adopt(_snapshot.Discovered);
                }
            }
        }
        finally
        {
            // One kernel write per commit, however many sinks it took; the changes were each given to every sink once.
            _counters.OnKernelWrite(Stopwatch.GetElapsedTime(roundStarted));
            _snapshot.Changes.Clear();
        }

        return failure;
    }

    /// <summary>Answers every waiter the rounds so far covered: with success up to what was written, with the last round's failure beyond.</summary>
    private void Complete()
    {
        lock (_waiters)
        {
            while (_waiters.TryPeek(out (long Version, TaskCompletionSource Done) waiter) && waiter.Version <= _lastRound)
            {
                _waiters.Dequeue();
                if (waiter.Version <= _written)
                {
                    waiter.Done.SetResult();
                }
                else
                {
                    waiter.Done.SetException(_lastFailure ?? new IOException("the kernel write failed"));
                }
            }
        }
    }
}
