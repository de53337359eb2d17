using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

public sealed class AcquireBothTests
{
    private static readonly ReservationOwner s_owner = Holders.Owner(-1, pid: 100, uid: 1000);
    private readonly FakePortUsage _usage = new();

    [Fact]
    public void AcquireBoth_SkipsPortsReservedOrInUseOnEitherProtocol()
    {
        var table = new ReservationTable(new PortRange(40000, 10), QuotaPolicy.Unlimited, _usage);
        table.Acquire(PortReservationProtocol.Tcp, 40000, 1, Holders.Owner(1, 1, 0));
        table.Acquire(PortReservationProtocol.Udp, 40001, 1, Holders.Owner(1, 1, 0));
        _usage.InUse.Add((PortReservationProtocol.Udp, 40002));
        _usage.InUse.Add((PortReservationProtocol.Tcp, 40003));

        Refusable<Reservation> granted = table.AcquireBothConfirmed(1, s_owner);

        Assert.Equal(new PortRange(40004, 1), granted.Granted().Block.Range);
        Assert.Equal(2, table.Reservations.Count(r => r.Owner == s_owner && r.Block.Range.Start == 40004));
    }

    [Fact]
    public void AcquireBoth_ReleasedTogetherWithTheGrant_AndRefusedWhenNothingIsFree()
    {
        var table = new ReservationTable(new PortRange(40000, 2), QuotaPolicy.Unlimited, _usage);
        Assert.True(table.AcquireBothConfirmed(1, s_owner).Succeeded());
        Assert.True(table.AcquireBothConfirmed(1, s_owner).Succeeded());

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, table.AcquireBothConfirmed(1, s_owner).Refused().Kind);
        Assert.Equal(4, table.ReleaseHolder(s_owner.HolderId).Count);
        Assert.True(table.AcquireBothConfirmed(1, s_owner).Succeeded());
    }
}
