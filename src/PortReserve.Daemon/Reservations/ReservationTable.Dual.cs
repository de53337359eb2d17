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
        PortRange window = WildcardRange;
        int from = window.Contains(_dualCursor) ? _dualCursor : window.Start;
        int found = count <= window.Count ? FindFreeDualBlock(count, from, window.End) : -1;
        if (found < 0 && from > window.Start)
        {
            found = FindFreeDualBlock(count, window.Start, window.End);
        }

        if (found < 0)
        {
            return TableResult.Fail(PortReservationErrorKind.NoBufferSpaceAvailable, $"no {count} consecutive port(s) free on both TCP and UDP in the wildcard range {window}");
        }

        _dualCursor = found + count > window.End ? window.Start : found + count;
        var range = new PortRange(found, count);
        var tcp = new Reservation(PortReservationProtocol.Tcp, range, NewToken(), PortReservationKind.Runtime, owner);
        Add(tcp);
        Add(new Reservation(PortReservationProtocol.Udp, range, NewToken(), PortReservationKind.Runtime, owner));
        return TableResult.Ok(tcp);
    }

    private int FindFreeDualBlock(int count, int from, int to)
    {
        int port = from;
        while (port <= to - count + 1)
        {
            port = PortSet.NextClear(_eitherProtocol, _system, port, to);
            if (port < 0 || port > to - count + 1)
            {
                return -1;
            }

            int runEnd = PortSet.NextSet(_eitherProtocol, _system, port, to);
            if (runEnd - port < count)
            {
                port = runEnd;
                continue;
            }

            var candidate = new PortRange(port, count);
            int inUse = Math.Max(FirstInUse(PortReservationProtocol.Tcp, candidate), FirstInUse(PortReservationProtocol.Udp, candidate));
            if (inUse < 0)
            {
                return port;
            }

            port = inUse + 1;
        }

        return -1;
    }
}
