using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;
using PortReserve.Daemon.Store;
using PortReserve.Daemon.Tests.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Core;

/// <summary>Persistent create and delete as units of work across the table, the kernel and a real SQLite store.</summary>
public sealed class PersistentReservationsTests : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly Principal s_admin = new(Pid: 10, ProcessId: 10, Uid: 0, Gid: 0, Groups: [0], IsAdministrator: true);
    private static readonly PortBlock s_block = new(PortReservationProtocol.Tcp, 30000, 2);
    private readonly string _directory = Directory.CreateTempSubdirectory("prt-persist-").FullName;
    private readonly ControlledSink _sink = new();
    private readonly DaemonCounters _counters = new("test");
    private readonly PersistentStore _store;
    private readonly ReservationLedger _ledger;
    private readonly PersistentChanges _changes;
    private readonly PersistentReservations _persistent;

    public PersistentReservationsTests()
    {
        _store = PersistentStore.Open(_directory);
        _ledger = new ReservationLedger(new ReservationTable(new PortRange(40000, 100), QuotaPolicy.Unlimited, new FakePortUsage()), [_sink], _counters, NullLogger.Instance);
        var access = new AccessPolicy("portreserve", adminGroupId: null);
        _changes = new PersistentChanges(_ledger, _store, NullLogger.Instance);
        _persistent = new PersistentReservations(_ledger, _changes, access, new RequestAudit(_counters, NullLogger.Instance, TimeProvider.System), _counters, TimeProvider.System, NullLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        _changes.Dispose();
        await _ledger.DisposeAsync();
        _store.Dispose();
        _sink.Dispose();
        _counters.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task CreateAsync_StoreRefuses_IsServiceUnavailable_AndLeavesTheBlockFreeAndUnseen()
    {
        // Another writer already holds the row, so the store's insert fails mid-create.
        using (var other = new SqliteConnection($"Data Source={Path.Combine(_directory, PersistentStore.FileName)}"))
        {
            other.Open();
            using SqliteCommand insert = other.CreateCommand();
            insert.CommandText = "INSERT INTO persistent_reservation VALUES (1, 30000, 2, 0, '2026-01-01T00:00:00Z', NULL)";
            insert.ExecuteNonQuery();
        }

        Refusal refused = (await CreateAsync(s_admin)).Refused();
        Reservation runtime = (await _ledger.AcquireAsync(s_block, Holders.Owner(1, 1, 0)).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Granted();

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, refused.Kind);
        Assert.Contains("nothing was changed", refused.Message);
        Assert.Equal(PortReservationKind.Runtime, runtime.Kind);
    }

    [Fact]
    public async Task CreateAndDelete_RacingOnOneBlock_LeaveTheStoreAndTableAgreeingWithWhatWasAcknowledged()
    {
        int creates = 0, deletes = 0;
        await Task.WhenAll(Enumerable.Range(0, 6).Select(worker => Task.Run(
            async () =>
            {
                var random = new Random(worker);
                for (int i = 0; i < 150; i++)
                {
                    bool create = random.Next(2) == 0;
                    Refusable<Reservation> result = create ? await CreateAsync(s_admin) : await _persistent.DeleteAsync(s_block, s_admin);
                    if (result.Succeeded())
                    {
                        Interlocked.Increment(ref create ? ref creates : ref deletes);
                    }
                    else
                    {
                        Assert.Contains(result.Refused().Kind, (PortReservationErrorKind[])[PortReservationErrorKind.AddressAlreadyInUse, PortReservationErrorKind.NotFound]);
                    }
                }
            },
            TestContext.Current.CancellationToken))).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        bool inTable = _persistent.Lookup(s_block, s_admin).Succeeded();
        bool inStore = _store.LoadAll().Any(r => r.Block == s_block);
        Assert.True(creates > 10 && deletes > 10, $"{creates} creates and {deletes} deletes acknowledged; the race did not run");
        Assert.Equal(inTable ? 1 : 0, creates - deletes);
        Assert.Equal(inTable, inStore);
    }

    [Fact]
    public async Task CreateAsync_NotAnAdministrator_IsAccessDeniedAndCounted()
    {
        Refusal refused = (await CreateAsync(new Principal(Pid: 11, ProcessId: 11, Uid: 1000, Gid: 1000, Groups: [1000], IsAdministrator: false))).Refused();

        Assert.Equal(PortReservationErrorKind.AccessDenied, refused.Kind);
        Assert.StartsWith("uid 1000 may not create a persistent reservation", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, _counters.RefusalsByKind().Single(r => r.Kind == nameof(PortReservationErrorKind.AccessDenied)).Count);
        Assert.Equal(0, _sink.Writes);
    }

    [Fact]
    public async Task CreateAsync_UnknownUser_IsInvalidArgumentNamingIt()
    {
        var request = new CreatePersistentRequest(s_block, ["no-such-user-here"], []);

        Refusal refused = (await _persistent.CreateAsync(request, s_admin).WaitAsync(s_timeout, TestContext.Current.CancellationToken)).Refused();

        Assert.Equal(PortReservationErrorKind.InvalidArgument, refused.Kind);
        Assert.Equal("--allow-user no-such-user-here: no such user on this machine", refused.Message);
    }

    private Task<Refusable<Reservation>> CreateAsync(Principal requester)
        => _persistent.CreateAsync(new CreatePersistentRequest(s_block, [], []), requester).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
}
