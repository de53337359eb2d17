using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Tests.Reservations;

public sealed class PersistentTableTests
{
    private static readonly ReservationOwner s_runtimeOwner = new(1, 100, 1000, 1000);
    private static readonly PersistentConsumers s_webOnly = new([new Consumer(33, "www-data")], [new Consumer(2000, "web")]);
    private readonly FakePortUsage _usage = new();
    private readonly ReservationTable _table;

    public PersistentTableTests() => _table = new ReservationTable(new PortRange(40000, 1000), QuotaPolicy.Unlimited, _usage);

    [Fact]
    public void CreatePersistent_ThenFindExactBlock_ReturnsItsToken()
    {
        Reservation created = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20), PersistentConsumers.None).Reservation!;

        Assert.Equal(created.Token, _table.FindPersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20)).Reservation!.Token);
        Assert.Equal(1, _table.PersistentCount);
        Assert.Equal(0, _table.RuntimeCount);
    }

    [Theory]
    [InlineData(5000, 19)]
    [InlineData(5001, 19)]
    [InlineData(4999, 21)]
    public void FindAndDeletePersistent_InexactBlock_IsNotFound(int start, int count)
    {
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 20), PersistentConsumers.None);

        Assert.Equal(PortReservationErrorKind.NotFound, _table.FindPersistent(PortReservationProtocol.Tcp, new PortRange(start, count)).Error);
        Assert.Equal(PortReservationErrorKind.NotFound, _table.DeletePersistent(PortReservationProtocol.Tcp, new PortRange(start, count)).Error);
        Assert.Equal(PortReservationErrorKind.NotFound, _table.FindPersistent(PortReservationProtocol.Udp, new PortRange(5000, 20)).Error);
    }

    [Fact]
    public void CreatePersistent_Wildcard_IsInvalidArgument()
    {
        Assert.Equal(PortReservationErrorKind.InvalidArgument, _table.CreatePersistent(PortReservationProtocol.Udp, new PortRange(0, 5), PersistentConsumers.None).Error);
    }

    [Fact]
    public void CreatePersistent_OverlappingRuntimeOrPersistentOrInUse_IsAddressAlreadyInUse()
    {
        _table.Acquire(PortReservationProtocol.Tcp, 6000, 10, s_runtimeOwner);
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(7000, 10), PersistentConsumers.None);
        _usage.InUse.Add((PortReservationProtocol.Tcp, 8005));

        TableResult overRuntime = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(6005, 10), PersistentConsumers.None);
        TableResult overPersistent = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(7000, 10), PersistentConsumers.None);
        TableResult overInUse = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(8000, 10), PersistentConsumers.None);
        TableResult acquireOverPersistent = _table.Acquire(PortReservationProtocol.Tcp, 7009, 1, s_runtimeOwner);

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overRuntime.Error);
        Assert.Contains("pid 100", overRuntime.Message);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overPersistent.Error);
        Assert.Contains("persistent reservation TCP 7000-7009", overPersistent.Message);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, overInUse.Error);
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, acquireOverPersistent.Error);
    }

    [Fact]
    public void Authorize_PersistentToken_AllowsAdministratorsAndConsumersOnly()
    {
        ulong token = _table.CreatePersistent(PortReservationProtocol.Udp, new PortRange(5000, 5), s_webOnly).Reservation!.Token;

        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Requester(1, 0, [0], IsAdministrator: true)).Succeeded);
        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Requester(2, 33, [33], IsAdministrator: false)).Succeeded);
        Assert.True(_table.Authorize(token, PortReservationProtocol.Udp, new Requester(3, 1001, [1001, 2000], IsAdministrator: false)).Succeeded);
        TableResult stranger = _table.Authorize(token, PortReservationProtocol.Udp, new Requester(4, 1002, [1002], IsAdministrator: false));
        Assert.Equal(PortReservationErrorKind.AccessDenied, stranger.Error);
        Assert.Contains("--allow-user", stranger.Message);
    }

    [Fact]
    public void Release_PersistentToken_IsInvalidArgumentAndKeepsIt()
    {
        ulong token = _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 1), PersistentConsumers.None).Reservation!.Token;

        Assert.Equal(PortReservationErrorKind.InvalidArgument, _table.Release(token, 1).Error);
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
    public void ReleaseConnection_LeavesPersistentReservations()
    {
        _table.CreatePersistent(PortReservationProtocol.Tcp, new PortRange(5000, 1), PersistentConsumers.None);
        _table.Acquire(PortReservationProtocol.Tcp, 6000, 1, s_runtimeOwner);

        _table.ReleaseConnection(s_runtimeOwner.ConnectionId);

        Assert.Equal(PortReservationKind.Persistent, Assert.Single(_table.Reservations).Kind);
    }
}
