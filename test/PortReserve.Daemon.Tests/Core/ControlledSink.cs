using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests.Core;

/// <summary>
/// A kernel sink a test controls: it records what each write held, can hold a write open until told, can refuse the
/// next write (with whatever a sink might throw) or writes at random, and can report entries as found in the kernel.
/// Like the real sinks, one that failed reports itself drifted until a write succeeds.
/// </summary>
internal sealed class ControlledSink : IKernelSink
{
    private readonly SemaphoreSlim _entered = new(0);
    private readonly List<PortSet> _writes = [];
    private ManualResetEventSlim? _hold;
    private Exception? _failNext;
    private Func<(Exception? Failure, bool AfterWriting)>? _faults;
    private bool _failed;
    private PortSet? _discoverNext;

    public string Name => "controlled sink";

    public bool IsActive { get; init; } = true;

    public int Writes
    {
        get
        {
            lock (_writes)
            {
                return _writes.Count;
            }
        }
    }

    /// <summary>The ports the last write put in the kernel.</summary>
    public PortSet Last
    {
        get
        {
            lock (_writes)
            {
                return _writes.Count == 0 ? new PortSet() : _writes[^1];
            }
        }
    }

    /// <summary>From now on each write waits until <see cref="Release"/>.</summary>
    public void Hold() => _hold = new ManualResetEventSlim(false);

    public void Release() => _hold?.Set();

    /// <summary>Waits until a write has begun (one that <see cref="Hold"/> keeps open, say).</summary>
    public Task WaitForWriteAsync() => _entered.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

    public void FailNext(Exception? failure = null) => _failNext = failure ?? new IOException("the kernel said no");

    /// <summary>
    /// From now on each write asks <paramref name="faults"/> what to throw (null: nothing), and whether to throw it before
    /// the write or after it (the kernel took the state, the sink reported a failure all the same); null stops that.
    /// </summary>
    public void FailAtRandom(Func<(Exception? Failure, bool AfterWriting)>? faults) => _faults = faults;

    public bool Drifted() => _failed;

    public void DiscoverNext(PortSet ports) => _discoverNext = ports;

    public void Apply(KernelSnapshot snapshot)
    {
        _entered.Release();
        _hold?.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        (Exception? failure, bool afterWriting) = _failNext is { } next ? (next, false) : _faults?.Invoke() ?? default;
        _failNext = null;
        _failed = failure is not null;
        if (failure is not null && !afterWriting)
        {
            throw failure;
        }

        if (_discoverNext is { } found)
        {
            snapshot.Discovered.CopyFrom(found);
            snapshot.All.UnionWith(found);
            _discoverNext = null;
        }

        var written = new PortSet();
        written.CopyFrom(snapshot.All);
        lock (_writes)
        {
            _writes.Add(written);
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    public void Dispose()
    {
        _hold?.Set();
        _entered.Dispose();
    }
}
