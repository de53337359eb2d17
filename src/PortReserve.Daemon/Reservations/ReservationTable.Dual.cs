using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

internal sealed partial class ReservationTable
{
    private readonly PortSet _eitherProtocol = new();
    private int _dualCursor;

    /// <summary>
    /// Acquires the same wildcard block in both port spaces (portpicker's meaning of a free port: free on TCP and UDP),
    /// as two runtime reservations with one owner. Returns the TCP one; the UDP one has the same range.
    /// </summary>
    public TableResult AcquireBoth(int count, ReservationOwner owner)
    {
        if (count is < 1 or > PortRange.MaxPort)
        {
            return InvalidRange(0, count);
        }

        if (CheckQuota(owner, 2 * count) is { } quotaFailure)
        {
            return quotaFailure;
        }

        _eitherProtocol.CopyFrom(_tcp.Occupied);
        _eitherProtocol.UnionWith(_udp.Occupied);

        // A port in use on either protocol rules the block out: resume after the later of the two.
        int found = SearchWildcardRange(
            _eitherProtocol,
            block => Math.Max(FirstInUse(PortReservationProtocol.Tcp, block), FirstInUse(PortReservationProtocol.Udp, block)),
            count,
            ref _dualCursor);
        if (found < 0)
        {
            return TableResult.Fail(PortReservationErrorKind.NoBufferSpaceAvailable, $"no {count} consecutive port(s) free on both TCP and UDP in the wildcard range {WildcardRange}");
        }

        var range = new PortRange(found, count);
        var tcp = new Reservation(PortReservationProtocol.Tcp, range, NewToken(), PortReservationKind.Runtime, owner);
        Add(tcp);
        Add(new Reservation(PortReservationProtocol.Udp, range, NewToken(), PortReservationKind.Runtime, owner));
        return TableResult.Ok(tcp);
    }
}
