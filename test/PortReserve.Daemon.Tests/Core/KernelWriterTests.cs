using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Tests.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Core;

/// <summary>
/// The one writer to the kernel under faults: whatever a sink or the state throws, at whatever point, every waiter is
/// answered, nothing the kernel did not take is granted, and once the faults stop the kernel converges on the table.
/// </summary>
public sealed class KernelWriterTests : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly ControlledSink _sink = new();
    private readonly DaemonCounters _counters = new("test");
    private readonly ReservationTable _table = new(new PortRange(40000, 400), QuotaPolicy.Unlimited, new FakePortUsage());
    private readonly ReservationLedger _ledger;

    public KernelWriterTests() => _ledger = new ReservationLedger(_table, [_sink], _counters, NullLogger.Instance);

    public async ValueTask DisposeAsync()
    {
        await _ledger.DisposeAsync();
        _sink.Dispose();
        _counters.Dispose();
    }

    public static TheoryData<string> Faults => ["io", "invalid-operation", "null-reference", "unauthorized"];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task ASinkThatThrowsAnything_RefusesThatRoundsChange_AndTheWriterWritesTheNext(string fault)
    {
        _sink.FailNext(Fault(fault));

        Refusal refused = (await Acquire(5000).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Refused();
        Reservation granted = (await Acquire(5001).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, refused.Kind);
        Assert.Equal("5001", KernelPortList.Format(_sink.Last));
        Assert.Equal(5001, granted.Block.Range.Start);
    }

    [Fact]
    public async Task AStateSnapshotThatThrows_AnswersItsWaiterWithAFailure_AndTheWriterGoesOn()
    {
        var state = new ThrowingState();
        await using var committer = new KernelCommitter([_sink], state, _counters, NullLogger.Instance);

        Task first = committer.Request(1).WaitAsync().AsTask();
        Exception failure = await Assert.ThrowsAsync<IOException>(() => first.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        await committer.Request(2).WaitAsync().AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Contains("the snapshot broke", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, _sink.Writes);
    }

    [Fact]
    public async Task ASyncCommitOfAFailedRound_ReturnsTheFailure_InsteadOfHanging()
    {
        _sink.FailNext(new InvalidOperationException("a bug in a sink"));
        Refusable<Reservation> placed = _ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 5000, 1), Owner(1), out long version);

        Exception? failure = await Task.Run(() => _ledger.CommitThrough(version), TestContext.Current.CancellationToken).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Refusal refused = _ledger.Settle(placed, failure, new PortBlock(PortReservationProtocol.Tcp, 5000, 1), Owner(1)).Refused();

        Assert.IsType<IOException>(failure);
        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, refused.Kind);
    }

    [Fact]
    public async Task DriftAfterAFailure_IsWrittenAgainByTheReconcileTick_WithoutAnotherChange()
    {
        Reservation held = (await Acquire(5000).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();
        _sink.FailNext();
        _ledger.ReleaseHolder(held.Owner!.HolderId);
        await Timeouts.Eventually(() => _sink.Drifted(), "the failed write of the release");
        int writes = _sink.Writes;

        _ledger.ReconcileKernel();

        await Timeouts.Eventually(() => _sink.Writes > writes && !_sink.Drifted(), "the reconcile tick's write");
        Assert.True(_sink.Last.IsEmpty, KernelPortList.Format(_sink.Last));
    }

    /// <summary>
    /// Randomised: clients acquire, release, create and delete persistent blocks concurrently while the sink fails a
    /// third of its writes with every kind of exception, before or after taking the state. Every request is answered
    /// in time; none is granted that a failed round covered; once the faults stop and the tick runs, the kernel holds
    /// exactly the table's ports.
    /// </summary>
    [Fact]
    public async Task UnderRandomFaults_EveryRequestIsAnswered_AndTheKernelConvergesOnTheTable()
    {
        var random = new Random(20261201);
        string[] kinds = ["io", "invalid-operation", "null-reference", "unauthorized"];
        _sink.FailAtRandom(() => random.Next(3) == 0 ? (Fault(kinds[random.Next(kinds.Length)]), random.Next(2) == 0) : (null, false));

        Task[] clients = [.. Enumerable.Range(1, 6).Select(client => Task.Run(() => RunClientAsync(client, seed: client * 7919), TestContext.Current.CancellationToken))];
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        _sink.FailAtRandom(null);
        _ledger.ReconcileKernel();
        await Timeouts.Eventually(() => !_sink.Drifted() && _sink.Last.SetEquals(TablePorts()), "the kernel converging on the table");
    }

    private async Task RunClientAsync(int client, int seed)
    {
        var random = new Random(seed);
        var held = new List<Reservation>();
        for (int step = 0; step < 150; step++)
        {
            switch (random.Next(4))
            {
                case 0 or 1:
                    Refusable<Reservation> acquired = await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 0, 1 + random.Next(3)), Owner(client)).WaitAsync(s_timeout);
                    if (acquired.TryGet(out Reservation? reservation, out Refusal? refusal))
                    {
                        held.Add(reservation);
                    }
                    else
                    {
                        Assert.Contains(refusal.Kind, (PortReservationErrorKind[])[PortReservationErrorKind.ServiceUnavailable, PortReservationErrorKind.NoBufferSpaceAvailable]);
                    }

                    break;
                case 2 when held.Count > 0:
                    Reservation released = held[random.Next(held.Count)];
                    held.Remove(released);
                    _ledger.Release(released.Token, Requester(client), out long version);
                    _ledger.CommitThrough(version);
                    break;
                case 2:
                    break;
                default:
                    Refusable<Reservation> placed = await _ledger.PlacePersistentAsync(new PortBlock(PortReservationProtocol.Udp, 41000 + (client * 100) + random.Next(90), 1), PersistentConsumers.None).WaitAsync(s_timeout);
                    if (placed.TryGet(out Reservation? persistent, out _))
                    {
                        _ledger.Publish(persistent);
                        await _ledger.DeletePersistentAsync(persistent).WaitAsync(s_timeout);
                    }

                    break;
            }
        }

        foreach (Reservation reservation in held)
        {
            _ledger.Release(reservation.Token, Requester(client), out long version);
            _ledger.CommitThrough(version);
        }
    }

    private Task<Refusable<Reservation>> Acquire(int port) => _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, port, 1), Owner(1));

    private static ReservationOwner Owner(int client) => Holders.Owner(client, pid: 100 + client, uid: 1000);

    private static Principal Requester(int client) => new(100 + client, (ulong)(100 + client), 1000, 1000, [1000], IsAdministrator: false);

    private static Exception Fault(string kind) => kind switch
    {
        "io" => new IOException("the kernel said no"),
        "invalid-operation" => new InvalidOperationException("a sink in a state it did not expect"),
        "null-reference" => new NullReferenceException("a bug in a sink"),
        _ => new UnauthorizedAccessException("the sysctl is read-only now"),
    };

    private PortSet TablePorts() => _ledger.Read(view =>
    {
        var all = new PortSet();
        view.CopyKernelPorts(all, new PortSet());
        return all;
    });

    /// <summary>A state whose first snapshot throws (a fault of the state's owner), and whose later ones are empty.</summary>
    private sealed class ThrowingState : IKernelState
    {
        private int _fills;

        public void Fill(KernelSnapshot snapshot)
        {
            if (Interlocked.Increment(ref _fills) == 1)
            {
                throw new InvalidOperationException("the snapshot broke");
            }

            snapshot.Version = _fills;
        }

        public void Adopt(PortSet discovered)
        {
        }
    }
}
