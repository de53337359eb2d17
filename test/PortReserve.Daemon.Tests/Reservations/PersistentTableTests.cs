using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

public sealed class PersistentTableTests
{
    private static readonly ReservationOwner s_runtimeOwner = Holders.Owner(1, pid: 100, uid: 1000);
    private static readonly PersistentConsumers s_webOnly = new([new Consumer(33, "www-data")], [new Consumer(2000, "web")]);
    private readonly FakePortUsage _usage = new();
    private readonly ReservationTable _table;

    public PersistentTableTests() => _table = new ReservationTable(new PortRange(40000, 1000), QuotaPolicy.Unlimited, _usage);

    [Fact]
    public void CreatePersistent_ThenFindExactBlock_ReturnsItsToken()
    {
        Reservation created = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20), PersistentConsumers.None).Granted();

        Assert.Equal(created.Token, _table.FindPersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20)).Granted().Token);
        Assert.Equal(1, _table.Counts.Persistent);
        Assert.Equal(0, _table.Counts.Runtime);
    }

    [Theory]
    [InlineData(5000, 19)]
    [InlineData(5001, 19)]
    [InlineData(4999, 21)]
    public void FindAndDeletePersistent_InexactBlock_IsNotFound(int start, int count)
    {
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20), PersistentConsumers.None);

        Assert.Equal(PortReservationErrorKind.NotFound, _table.FindPersistent(PortReservationProtocol.Tcp, new PortRange(start, count)).Refused().Kind);
        Assert.Equal(PortReservationErrorKind.NotFound, _table.DeletePersistent(PortReservationProtocol.Tcp, new PortRange(start, count)).Refused().Kind);
        Assert.Equal(PortReservationErrorKind.NotFound, _table.FindPersistent(PortReservationProtocol.Udp, new PortRange(5000, 20)).Refused().Kind);
    }

    [Fact]
    public void CreatePersistent_Wildcard_IsInvalidArgument()
    {
        Assert.Equal(PortReservationErrorKind.InvalidArgument, _table.CreatePersistent(PortReservationProtocol.Udp, new PortRange(0, 5), PersistentConsumers.None).Refused().Kind);
    }

    [Fact]
    public void CreatePersistent_OverlappingRuntimeOrPersistentOrInUse_IsAddressAlreadyInUse()
    {
        _table.Acquire(PortReservationProtocol.Tcp, 6000, 10, s_runtimeOwner);
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(7000, 10), PersistentConsumers.None);
        _usage.InUse.Add((PortReservationProtocol.Tcp, 8005));

        Refusable<Reservation> overRuntime = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(6005, 10), PersistentConsumers.None);
        Refusable<Reservation> overPersistent = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(7000, 10), PersistentConsumers.None);
        Refusable<Reservation> overInUse = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(8000, 10), PersistentConsumers.None);
        Refusable<Reservation> acquireOverPersistent = _table.Acquire(PortReservationProtocol.Tcp, 7009, 1, s_runtimeOwner);

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overRuntime.Refused().Kind);
        Assert.Contains("pid 100", overRuntime.Refused().Message);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overPersistent.Refused().Kind);
        Assert.Contains("persistent reservation TCP 7000-7009", overPersistent.Refused().Message);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overInUse.Refused().Kind);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, acquireOverPersistent.Refused().Kind);
    }

    [Fact]
    public void Authorize_PersistentToken_AllowsAdministratorsAndConsumersOnly()
    {
        ulong token = _table.CreatePersistent(PortReservationProtocol.Udp, new PortRange(5000, 5), s_webOnly).Granted().Token;

        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Principal(1, 1, 0, 0, [0], IsAdministrator: true), holderId: Holders.Holder(1)).Succeeded());
        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Principal(2, 2, 33, 33, [33], IsAdministrator: false), holderId: Holders.Holder(1)).Succeeded());
        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Principal(3, 3, 1001, 1001, [1001, 2000], IsAdministrator: false), holderId: Holders.Holder(1)).Succeeded());
        Refusable<Reservation> stranger = _table.Authorize(token, PortReservationProtocol.Udp, new Principal(4, 4, 1002, 1002, [1002], IsAdministrator: false), holderId: Holders.Holder(1));
        Assert.Equal(PortReservationErrorKind.AccessDenied, stranger.Refused().Kind);
        Assert.Contains("--allow-user", stranger.Refused().Message);
    }

    [Fact]
    public void Release_PersistentToken_IsInvalidArgumentAndKeepsIt()
    {
        ulong token = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 1), PersistentConsumers.None).Granted().Token;

        Assert.Equal(PortReservationErrorKind.InvalidArgument, _table.Release(token, 1).Refused().Kind);
        Assert.NotNull(_table.Find(token));
    }

    [Fact]
    public void RestorePersistent_GetsANewTokenAndRefusesOverlappingRows()
    {
        Reservation first = _table.RestorePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 10), PersistentConsumers.None);

        Assert.NotEqual(0UL, first.Token);
        Assert.Throws<InvalidDataException>(() => _table.RestorePersistent(PortReservationProtocol.Tcp, new PortRange(5009, 2), PersistentConsumers.None));
        Assert.Throws<InvalidDataException>(() => _table.RestorePersistent(PortReservationProtocol.Tcp, new PortRange(65535, 2), PersistentConsumers.None));
    }

    [Fact]
    public void ReleaseHolder_LeavesPersistentReservations()
    {
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 1), PersistentConsumers.None);
        _table.Acquire(PortReservationProtocol.Tcp, 6000, 1, s_runtimeOwner);

        _table.ReleaseHolder(s_runtimeOwner.HolderId);

        Assert.Equal(PortReservationKind.Persistent, Assert.Single(_table.Reservations).Kind);
    }
}
