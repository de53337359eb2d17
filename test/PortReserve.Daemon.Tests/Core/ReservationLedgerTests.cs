using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Tests.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Core;

/// <summary>The ledger: every change reaches the kernel sinks before it is acknowledged, and is undone when they refuse.</summary>
public sealed class ReservationLedgerTests : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly ReservationOwner s_owner = Holders.Owner(1, pid: 100, uid: 1000);
    private readonly ControlledSink _sink = new();
    private readonly DaemonCounters _counters = new("test");
    private readonly ReservationLedger _ledger;

    public ReservationLedgerTests()
        => _ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), QuotaPolicy.Unlimited, new FakePortUsage()), [_sink], _counters, NullLogger.Instance);

    public async ValueTask DisposeAsync()
    {
        _sink.Release();
        await _ledger.DisposeAsync();
        _sink.Dispose();
        _counters.Dispose();
    }

    [Fact]
    public async Task AcquireAsync_IsGrantedOnlyOnceTheKernelHoldsTheBlock()
    {
        _sink.Hold();

        Task<Refusable<Reservation>> acquire = Task.Run(() => _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 5000, 3), s_owner), TestContext.Current.CancellationToken);
        await _sink.WaitForWriteAsync();
        bool grantedBeforeTheWrite = acquire.IsCompleted;
        _sink.Release();
        Reservation granted = (await acquire.WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();

        Assert.False(grantedBeforeTheWrite);
        Assert.Equal(new PortRange(5000, 3), granted.Block.Range);
        Assert.Equal([new PortRange(5000, 3)], _sink.Last.Ranges());
    }

    [Fact]
    public async Task AcquireAsync_KernelRefuses_IsServiceUnavailableAndTakesTheBlockBack()
    {
        _sink.FailNext();

        Refusal refused = (await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Udp, 6000, 2), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Refused();
        Reservation again = (await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Udp, 6000, 2), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, refused.Kind);
        Assert.Contains("the kernel said no", refused.Message);
        Assert.Equal(again, Assert.Single(_ledger.Read(view => view.Reservations.ToList())));
        Assert.True(_sink.Last.Contains(6001));
    }

    [Fact]
    public async Task ChangesMadeDuringAWrite_AreAllCoveredByTheNextOne()
    {
        _sink.Hold();
        Task<Refusable<Reservation>> first = Task.Run(() => _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 0, 1), s_owner), TestContext.Current.CancellationToken);
        await _sink.WaitForWriteAsync();

        Task<Refusable<Reservation>>[] queued = [.. Enumerable.Range(0, 20).Select(_ => _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 0, 1), s_owner))];
        _sink.Release();
        await Task.WhenAll([first, .. queued]).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.All(queued, q => Assert.True(q.Result.Succeeded()));
        Assert.Equal(2, _sink.Writes);
        Assert.Equal(21, _ledger.Read(view => view.Counts.RuntimeTcp));
    }

    [Fact]
    public async Task EntriesFoundInTheKernel_BecomeSystemExclusionsThatAreRefused()
    {
        var found = new PortSet();
        found.Add(new PortRange(7000, 2));
        _sink.DiscoverNext(found);

        await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 5000, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Refusal overlapping = (await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Udp, 7001, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Refused();

        Assert.Equal([new PortRange(7000, 2)], _ledger.Read(view => view.SystemExclusions.ToList()));
        Assert.Contains("system exclusion 7000-7001", overlapping.Message);
    }

    [Fact]
    public async Task PlacedPersistentReservation_HoldsItsPortsButIsInvisibleUntilPublished()
    {
        var block = new PortBlock(PortReservationProtocol.Tcp, 8000, 2);

        Reservation pending = (await _ledger.PlacePersistentAsync(block, PersistentConsumers.None).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();
        Refusal lookupWhilePending = _ledger.FindPersistent(block).Refused();
        Refusal overlapWhilePending = (await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 8001, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Refused();
        int listedWhilePending = _ledger.Read(view => view.Reservations.Count());
        _ledger.Publish(pending);

        Assert.True(_sink.Last.Contains(8000) && _sink.Last.Contains(8001));
        Assert.Equal(PortReservationErrorKind.NotFound, lookupWhilePending.Kind);
        Assert.Contains("(being created)", overlapWhilePending.Message);
        Assert.Equal(0, listedWhilePending);
        Assert.Same(pending, _ledger.FindPersistent(block).Granted());
    }

    [Fact]
    public async Task ReleaseHolder_FreesThatHoldersBlocksOnly_AndTheNextWriteDropsThem()
    {
        await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 5000, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 5001, 1), s_owner with { HolderId = Holders.Holder(2)}).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        IReadOnlyList<Reservation> released = _ledger.ReleaseHolder(s_owner.HolderId);
        await _ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Udp, 9000, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Equal(5000, Assert.Single(released).Block.Range.Start);
        Assert.False(_sink.Last.Contains(5000));
        Assert.True(_sink.Last.Contains(5001));
    }

    [Fact]
    public void ChangesCommittedByTheCaller_ATurnOfThemIsOneWrite()
    {
        long last = 0;
        for (int i = 0; i < 5; i++)
        {
            Assert.True(_ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 5000 + i, 1), s_owner, out last).Succeeded());
        }

        Exception? failure = _ledger.CommitThrough(last);

        Assert.Null(failure);
        Assert.Equal(1, _sink.Writes);
        Assert.Equal([new PortRange(5000, 5)], _sink.Last.Ranges());
        Assert.Null(_ledger.CommitThrough(last));
        Assert.Equal(1, _sink.Writes);
    }

    [Fact]
    public async Task Settle_ChecksThePortsOnlyOnceTheKernelEnforcesThem_AndTakesBackABlockWithAPortInUse()
    {
        var usage = new FakePortUsage();
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), QuotaPolicy.Unlimited, usage), [_sink], _counters, NullLogger.Instance);
        var requested = new PortBlock(PortReservationProtocol.Tcp, 5000, 2);
        var enforcedAtTheCheck = new List<bool>();
        usage.Probed = range => enforcedAtTheCheck.Add(_sink.Last.Contains(range.Start) && _sink.Last.Contains(range.End));

        Refusable<Reservation> placed = ledger.Acquire(requested, s_owner, out long version);
        bool visibleBeforeTheCheck = ledger.Read(view => view.Reservations.Any());
        usage.InUse.Add((PortReservationProtocol.Tcp, 5001));
        Refusal refused = ledger.Settle(placed, ledger.CommitThrough(version), requested, s_owner).Refused();
        ledger.ReconcileKernel();
        usage.InUse.Clear();
        Refusable<Reservation> again = ledger.Acquire(requested, s_owner, out version);
        Reservation granted = ledger.Settle(again, ledger.CommitThrough(version), requested, s_owner).Granted();

        Assert.False(visibleBeforeTheCheck);
        Assert.Equal([true, true], enforcedAtTheCheck);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, refused.Kind);
        Assert.Contains("TCP port 5001 is in use", refused.Message);
        Assert.Equal(requested, granted.Block);
    }

    [Fact]
    public async Task Settle_WildcardBlockFoundInUseOnceEnforced_IsReplacedByAFreeOne()
    {
        var usage = new FakePortUsage();
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), QuotaPolicy.Unlimited, usage), [_sink], _counters, NullLogger.Instance);
        var requested = new PortBlock(PortReservationProtocol.Udp, 0, 1);

        Refusable<Reservation> placed = ledger.Acquire(requested, s_owner, out long version);
        int first = placed.Granted().Block.Range.Start;
        usage.InUse.Add((PortReservationProtocol.Udp, first));
        Reservation granted = ledger.Settle(placed, ledger.CommitThrough(version), requested, s_owner).Granted();

        Assert.NotEqual(first, granted.Block.Range.Start);
        Assert.True(_sink.Last.Contains(granted.Block.Range.Start));
        Assert.Equal([granted], ledger.Read(view => view.Reservations.ToList()));
    }

    [Fact]
    public async Task Settle_WildcardRangeAllInUse_ProbesAFewTimesTheBlocksSize_NotTheWholeRange()
    {
        var usage = new FakePortUsage();
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 10000), QuotaPolicy.Unlimited, usage), [_sink], _counters, NullLogger.Instance);
        usage.InUse.UnionWith(Enumerable.Range(40000, 10000).Select(port => (PortReservationProtocol.Tcp, port)));
        long probed = 0;
        usage.Probed = range => probed += range.Count;
        var requested = new PortBlock(PortReservationProtocol.Tcp, 0, 100);

        Refusable<Reservation> placed = ledger.Acquire(requested, s_owner, out long version);
        Refusal refused = ledger.Settle(placed, ledger.CommitThrough(version), requested, s_owner).Refused();

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, refused.Kind);
        Assert.InRange(probed, 100, 400);
        Assert.Empty(ledger.Read(view => view.Reservations.ToList()));
    }

    [Fact]
    public async Task Settle_WildcardWhoseHolderWentAwayMeanwhile_PlacesNothingAgain()
    {
        var usage = new FakePortUsage();
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), QuotaPolicy.Unlimited, usage), [_sink], _counters, NullLogger.Instance);
        var requested = new PortBlock(PortReservationProtocol.Tcp, 0, 1);

        Refusable<Reservation> placed = ledger.Acquire(requested, s_owner, out long version);
        ledger.ReleaseHolder(s_owner.HolderId);
        Refusal refused = ledger.Settle(placed, ledger.CommitThrough(version), requested, s_owner).Refused();

        Assert.Equal(PortReservationErrorKind.Aborted, refused.Kind);
        Assert.Empty(ledger.Read(view => view.Reservations.ToList()));
        Assert.Equal(0, ledger.Read(view => view.LargestFreeWildcardBlock(PortReservationProtocol.Tcp)) - 100);
    }

    [Fact]
    public void CommitThrough_KernelRefuses_SettleTakesTheAcquireBackAndRefusesIt()
    {
        _sink.FailNext();
        Refusable<Reservation> placed = _ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 5000, 2), s_owner, out long version);

        Exception? failure = _ledger.CommitThrough(version);
        Refusal refused = _ledger.Settle(placed, failure, new PortBlock(PortReservationProtocol.Tcp, 5000, 2), s_owner).Refused();

        Assert.NotNull(failure);
        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, refused.Kind);
        Assert.Equal(0, _ledger.Read(view => view.Counts.RuntimeTcp));
        Assert.True(_ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 5000, 2), s_owner, out _).Succeeded());
    }

    [Fact]
    public async Task Settle_HolderAlreadyGone_TakesNothingBackTwice()
    {
        var quotas = new QuotaPolicy(MaxRuntimePortsPerUid: 2, MaxRuntimeReservationsPerUid: 10);
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), quotas, new FakePortUsage()), [_sink], _counters, NullLogger.Instance);
        Refusable<Reservation> placed = ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 5000, 2), s_owner, out _);
        ledger.ReleaseHolder(s_owner.HolderId);

        ledger.Settle(placed, new IOException("the kernel said no"), new PortBlock(PortReservationProtocol.Tcp, 5000, 2), s_owner).Refused();

        // Taken back once (by its holder's departure): the uid's quota has both ports to give again, and no more.
        Assert.True(ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 7000, 2), s_owner, out _).Succeeded());
        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, ledger.Acquire(new PortBlock(PortReservationProtocol.Tcp, 8000, 1), s_owner, out _).Refused().Kind);
    }

    [Fact]
    public async Task NoActiveSink_ChangesNeedNoWrite()
    {
        var inactive = new ControlledSink { IsActive = false };
        await using var ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 10), QuotaPolicy.Unlimited, new FakePortUsage()), [inactive], _counters, NullLogger.Instance);

        Reservation granted = (await ledger.AcquireAsync(new PortBlock(PortReservationProtocol.Tcp, 0, 1), s_owner).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();

        Assert.Equal(40000, granted.Block.Range.Start);
        Assert.Equal(0, inactive.Writes);
    }
}
