using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>The count of persistent uses, which keeps one user from filling the bind hook's allow map.</summary>
public sealed class PersistentUsesTests
{
    private static readonly Reservation[] s_persistent = [.. Enumerable.Range(0, 64).Select(i => new Reservation(new PortBlock(PortReservationProtocol.Tcp, 20_000 + i, 1), token: (ulong)(1000 + i), PortReservationKind.Persistent, owner: null))];

    [Fact]
    public void AUserBeyondItsShare_IsRefused_UntilAConnectionOrAReservationGoes()
    {
        var uses = new PersistentUses();
        FillShare(uses, uid: 65534);

        Refusal? beyond = uses.Grant(holderId: Holders.Holder(999), Requester(65534, pid: 999), s_persistent[0]);
        Refusal? again = uses.Grant(holderId: Holders.Holder(1), Requester(65534, pid: 1), s_persistent[0]);
        Refusal? otherUser = uses.Grant(holderId: Holders.Holder(2000), Requester(1000, pid: 2000), s_persistent[0]);
        uses.ReleaseHolder(holderId: Holders.Holder(1));
        bool afterAConnectionWent = s_persistent.All(reservation => uses.Grant(holderId: Holders.Holder(999), Requester(65534, pid: 999), reservation) is null);
        Refusal? fullAgain = uses.Grant(holderId: Holders.Holder(998), Requester(65534, pid: 998), s_persistent[0]);
        uses.ReservationRemoved(s_persistent[5].Token);
        Refusal? afterAReservationWent = uses.Grant(holderId: Holders.Holder(998), Requester(65534, pid: 998), s_persistent[0]);

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, beyond?.Kind);
        Assert.Contains("uid 65534 already holds 1024 uses", beyond?.Message, StringComparison.Ordinal);
        Assert.Null(again);
        Assert.Null(otherUser);
        Assert.True(afterAConnectionWent, "the uses of a connection that went were not freed");
        Assert.NotNull(fullAgain);
        Assert.Null(afterAReservationWent);
    }

    [Fact]
    public void Administrators_HaveNoShare_ButCountInAll()
    {
        var uses = new PersistentUses();
        int granted = 0;
        for (int holder = 1; holder <= PersistentUses.MaxInAll / s_persistent.Length + 1; holder++)
        {
            granted += s_persistent.Count(reservation => uses.Grant(Holders.Holder(holder), Requester(0, holder, administrator: true), reservation) is null);
        }

        Refusal? stranger = uses.Grant(holderId: Holders.Holder(-1), Requester(1000, pid: 77), s_persistent[0]);

        Assert.Equal(PersistentUses.MaxInAll, granted);
        Assert.Contains("the most the bind hook takes", stranger?.Message, StringComparison.Ordinal);
    }

    /// <summary>1,024 uses of <paramref name="uid"/>: 16 connections (holders 1..16, one process each) × 64 reservations.</summary>
    private static void FillShare(PersistentUses uses, uint uid)
    {
        for (int holder = 1; holder <= 16; holder++)
        {
            foreach (Reservation reservation in s_persistent)
            {
                Assert.Null(uses.Grant(Holders.Holder(holder), Requester(uid, holder), reservation));
            }
        }
    }

    private static Principal Requester(uint uid, int pid, bool administrator = false) => new(pid, (ulong)pid, uid, uid, [uid], administrator);
}
