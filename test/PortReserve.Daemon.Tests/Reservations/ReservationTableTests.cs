using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

public sealed class ReservationTableTests
{
    private static readonly ReservationOwner s_alice = Holders.Owner(1, pid: 100, uid: 1000);
    private static readonly ReservationOwner s_bob = Holders.Owner(2, pid: 200, uid: 1001);
    private readonly FakePortUsage _usage = new();

    [Fact]
    public void Acquire_SpecificFreeBlock_GrantsExactlyThatBlockWithNonZeroToken()
    {
        ReservationTable table = NewTable();

        Refusable<Reservation> result = table.Acquire(PortReservationProtocol.Udp, 5000, 20, s_alice);

        Assert.True(result.Succeeded());
        Assert.Equal(new PortRange(5000, 20), result.Granted().Block.Range);
        Assert.NotEqual(0UL, result.Granted().Token);
        Assert.Same(result.Granted(), table.Find(result.Granted().Token));
    }

    [Fact]
    public void Acquire_OverlappingBlock_FailsNamingTheHolder()
    {
        ReservationTable table = NewTable();
        table.Acquire(PortReservationProtocol.Tcp, 5000, 10, s_alice);

        Refusable<Reservation> result = table.Acquire(PortReservationProtocol.Tcp, 5009, 5, s_bob);

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, result.Refused().Kind);
        Assert.Contains("5000-5009", result.Refused().Message);
        Assert.Contains("pid 100", result.Refused().Message);
    }

    [Fact]
    public void Acquire_SameBlockOtherProtocol_Succeeds()
    {
        ReservationTable table = NewTable();
        table.Acquire(PortReservationProtocol.Tcp, 5000, 10, s_alice);

        Assert.True(table.Acquire(PortReservationProtocol.Udp, 5000, 10, s_bob).Succeeded());
    }

    [Fact]
    public void Acquire_BlockWithPortInUse_FailsNamingThePort()
    {
        ReservationTable table = NewTable();
        _usage.InUse.Add((PortReservationProtocol.Tcp, 5003));

        Refusable<Reservation> result = table.Acquire(PortReservationProtocol.Tcp, 5000, 10, s_alice);

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, result.Refused().Kind);
        Assert.Contains("port 5003 is in use", result.Refused().Message);
    }

    [Fact]
    public void Acquire_SystemExclusion_IsRefusedAndNeverHandedOutByWildcard()
    {
        ReservationTable table = NewTable(new PortRange(40000, 10));
        var excluded = new PortSet();
        excluded.Add(new PortRange(40000, 5));
        table.AddSystemExclusions(excluded);

        Refusable<Reservation> specific = table.Acquire(PortReservationProtocol.Udp, 40004, 1, s_alice);
        Refusable<Reservation> wildcard = table.Acquire(PortReservationProtocol.Udp, 0, 5, s_alice);
        Refusable<Reservation> exhausted = table.Acquire(PortReservationProtocol.Udp, 0, 1, s_alice);

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, specific.Refused().Kind);
        Assert.Contains("system exclusion 40000-40004", specific.Refused().Message);
        Assert.Equal(new PortRange(40005, 5), wildcard.Granted().Block.Range);
        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, exhausted.Refused().Kind);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(65535, 2)]
    [InlineData(-1, 1)]
    [InlineData(70000, 1)]
    [InlineData(1, 65536)]
    public void Acquire_InvalidRange_IsInvalidArgument(int start, int count)
    {
        Assert.Equal(PortReservationErrorKind.InvalidArgument, NewTable().Acquire(PortReservationProtocol.Tcp, start, count, s_alice).Refused().Kind);
    }

    [Fact]
    public void Acquire_WildcardSkipsPortsInUseAndStaysInRange()
    {
        ReservationTable table = NewTable(new PortRange(40000, 100));
        _usage.InUse.Add((PortReservationProtocol.Tcp, 40001));

        Refusable<Reservation> first = table.Acquire(new PortBlock(PortReservationProtocol.Tcp, 0, 10), s_alice);
        Refusal inUse = table.Confirm(first.Granted()).Refused();
        Reservation next = table.Acquire(PortReservationProtocol.Tcp, 0, 10, s_alice).Granted();
        _usage.InUse.Clear();
        Reservation later = table.Acquire(PortReservationProtocol.Tcp, 0, 80, s_alice).Granted();

        // The first block chosen holds the port in use, which the check once it is enforced finds; the next search skips it.
        Assert.Equal(new PortRange(40000, 10), first.Granted().Block.Range);
        Assert.Contains("TCP port 40001 is in use", inUse.Message);
        Assert.Equal(new PortRange(40010, 10), next.Block.Range);
        Assert.Equal(new PortRange(40020, 80), later.Block.Range);
    }

    [Fact]
    public void Acquire_WildcardAfterRelease_MovesOnRatherThanReusingAtOnce()
    {
        ReservationTable table = NewTable(new PortRange(40000, 100));
        Reservation first = table.Acquire(PortReservationProtocol.Udp, 0, 1, s_alice).Granted();
        table.Release(first.Token, s_alice.Principal.Pid);

        Reservation second = table.Acquire(PortReservationProtocol.Udp, 0, 1, s_alice).Granted();

        Assert.NotEqual(first.Block.Range, second.Block.Range);
    }

    [Fact]
    public void Acquire_WildcardLargerThanRange_IsNoBufferSpace()
    {
        Refusable<Reservation> result = NewTable(new PortRange(40000, 10)).Acquire(PortReservationProtocol.Tcp, 0, 11, s_alice);

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, result.Refused().Kind);
        Assert.Contains("40000-40009", result.Refused().Message);
    }

    [Fact]
    public void Release_ByAnotherProcess_IsAccessDeniedAndKeepsTheReservation()
    {
        ReservationTable table = NewTable();
        Reservation held = table.Acquire(PortReservationProtocol.Tcp, 5000, 1, s_alice).Granted();

        Refusable<Reservation> result = table.Release(held.Token, s_bob.Principal.Pid);

        Assert.Equal(PortReservationErrorKind.AccessDenied, result.Refused().Kind);
        Assert.NotNull(table.Find(held.Token));
    }

    [Fact]
    public void Release_UnknownOrZeroToken_IsInvalidArgument()
    {
        ReservationTable table = NewTable();

        Assert.Equal(PortReservationErrorKind.InvalidArgument, table.Release(0, s_alice.Principal.Pid).Refused().Kind);
        Assert.Equal(PortReservationErrorKind.InvalidArgument, table.Release(12345, s_alice.Principal.Pid).Refused().Kind);
    }

    [Fact]
    public void Authorize_ProtocolMismatch_IsInvalidArgument()
    {
        ReservationTable table = NewTable();
        Reservation held = table.Acquire(PortReservationProtocol.Tcp, 5000, 1, s_alice).Granted();

        Assert.Equal(PortReservationErrorKind.InvalidArgument, table.Authorize(held.Token, PortReservationProtocol.Udp, AsRequester(s_alice), holderId: Holders.Holder(1)).Refused().Kind);
        Assert.True(table.Authorize(held.Token, PortReservationProtocol.Tcp, AsRequester(s_alice), holderId: Holders.Holder(1)).Succeeded());
    }

    [Fact]
    public void ReleaseHolder_DropsOnlyThatConnectionsReservations()
    {
        ReservationTable table = NewTable();
        table.Acquire(PortReservationProtocol.Tcp, 5000, 1, s_alice);
        table.Acquire(PortReservationProtocol.Udp, 5000, 1, s_alice);
        Reservation bobs = table.Acquire(PortReservationProtocol.Tcp, 6000, 1, s_bob).Granted();

        IReadOnlyList<Reservation> released = table.ReleaseHolder(s_alice.HolderId);

        Assert.Equal(2, released.Count);
        Assert.Equal([bobs], table.Reservations);
        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 5000, 1, s_bob).Succeeded());
    }

    [Fact]
    public void Acquire_BeyondPortQuota_IsNoBufferSpaceUnlessAdministrator()
    {
        var quotas = new QuotaPolicy(MaxRuntimePortsPerUid: 10, MaxRuntimeReservationsPerUid: 100);
        var table = new ReservationTable(new PortRange(40000, 1000), quotas, _usage);
        var root = Holders.Owner(3, 300, 0, administrator: true);

        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 5000, 10, s_alice).Succeeded());
        Refusable<Reservation> refused = table.Acquire(PortReservationProtocol.Tcp, 6000, 1, s_alice);
        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, refused.Refused().Kind);
        Assert.Contains("quota", refused.Refused().Message);
        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 7000, 100, root).Succeeded());

        table.ReleaseHolder(s_alice.HolderId);
        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 6000, 10, s_alice).Succeeded());
    }

    [Fact]
    public void Acquire_PortsBelowTheUnprivilegedStart_NeedAnAdministrator()
    {
        var table = new ReservationTable(new PortRange(1000, 100), QuotaPolicy.Unlimited, _usage, unprivilegedPortStart: () => 1024);
        var root = Holders.Owner(3, 300, 0, administrator: true);

        Refusal squat = table.Acquire(PortReservationProtocol.Tcp, 1, 1023, s_alice).Refused();
        Refusal straddle = table.Acquire(PortReservationProtocol.Udp, 1020, 10, s_alice).Refused();
        Reservation wildcard = table.Acquire(PortReservationProtocol.Tcp, 0, 4, s_alice).Granted();
        Reservation both = table.AcquireBothConfirmed(1, s_bob).Granted();

        Assert.Equal(PortReservationErrorKind.AccessDenied, squat.Kind);
        Assert.Contains("below 1024 (net.ipv4.ip_unprivileged_port_start)", squat.Message);
        Assert.Equal(PortReservationErrorKind.AccessDenied, straddle.Kind);
        Assert.Equal(1024, wildcard.Block.Range.Start);
        Assert.True(both.Block.Range.Start >= 1024);
        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 80, 1, root).Succeeded());
        Assert.Equal(1000, table.Acquire(PortReservationProtocol.Udp, 0, 4, root).Granted().Block.Range.Start);
        Assert.True(table.Acquire(PortReservationProtocol.Tcp, 2000, 1, s_bob).Succeeded());
    }

    [Fact]
    public void Acquire_WildcardEntirelyBelowTheUnprivilegedStart_HasNoRoomForOthers()
    {
        var table = new ReservationTable(new PortRange(500, 100), QuotaPolicy.Unlimited, _usage, unprivilegedPortStart: () => 1024);

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, table.Acquire(PortReservationProtocol.Tcp, 0, 1, s_alice).Refused().Kind);
    }

    [Fact]
    public void CopyKernelPorts_IsUnionOfBothProtocolsAndSystemExclusions()
    {
        ReservationTable table = NewTable();
        table.Acquire(PortReservationProtocol.Tcp, 5000, 2, s_alice);
        table.Acquire(PortReservationProtocol.Udp, 5001, 2, s_alice);
        var excluded = new PortSet();
        excluded.Add(new PortRange(9000, 1));
        table.AddSystemExclusions(excluded);
        var kernel = new PortSet();

        table.CopyKernelPorts(kernel, new PortSet());

        Assert.Equal(["5000-5002", "9000"], kernel.Ranges().Select(r => r.ToString()));
    }

    private static Principal AsRequester(ReservationOwner owner, bool administrator = false) => owner.Principal with { IsAdministrator = administrator };

    private ReservationTable NewTable(PortRange? wildcard = null) => new(wildcard ?? new PortRange(32768, 28232), QuotaPolicy.Unlimited, _usage);
}
