using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Finds free blocks for wildcard requests inside the wildcard range: next-fit (each protocol, and the both-protocols
/// search of portserver grants, resumes after the block it last handed out, so released ports are not handed out again
/// at once), skipping 64-port words of the occupancy maps at a time. Whether a candidate's ports are in use is asked
/// only once the kernel enforces it (<see cref="ReservationTable.Confirm"/>); the ports found in use then are
/// remembered (<see cref="MarkInUse"/>) and skipped, until a search finds nothing else: sockets come and go, so it then
/// forgets them and looks again.
/// </summary>
internal sealed class WildcardSearch(PortRange range, SystemExclusions exclusions)
{
    private readonly PortSet _eitherProtocol = new();
    private readonly PortSet _tcpInUse = new();
    private readonly PortSet _udpInUse = new();
    private int _tcpCursor;
    private int _udpCursor;
    private int _bothCursor;

    public PortRange Range { get; } = range;

    /// <summary>The first port of a free block of <paramref name="count"/> ports of <paramref name="protocol"/> from <paramref name="lowest"/> up, or -1.</summary>
    public int Find(PortReservationProtocol protocol, PortSet occupied, int count, int lowest = 1)
    {
        PortSet inUse = InUse(protocol);
        return Search(occupied, block => inUse.FirstIn(block), () => inUse.Clear(), count, lowest, ref protocol == PortReservationProtocol.Tcp ? ref _tcpCursor : ref _udpCursor);
    }

    /// <summary>A socket was found holding <paramref name="port"/>: searches skip it from now on.</summary>
    public void MarkInUse(PortReservationProtocol protocol, int port) => InUse(protocol).Add(new PortRange(port, 1));

    /// <summary>The first port of a block of <paramref name="count"/> ports free in both protocols from <paramref name="lowest"/> up, or -1.</summary>
    public int FindInBoth(PortSet tcpOccupied, PortSet udpOccupied, int count, int lowest = 1)
    {
        _eitherProtocol.CopyFrom(tcpOccupied);
        _eitherProtocol.UnionWith(udpOccupied);

        // A port in use on either protocol rules the block out: resume after the later of the two.
        return Search(
            _eitherProtocol,
            block => Math.Max(_tcpInUse.FirstIn(block), _udpInUse.FirstIn(block)),
            () =>
            {
                _tcpInUse.Clear();
                _udpInUse.Clear();
            },
            count,
            lowest,
            ref _bothCursor);
    }

    private PortSet InUse(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? _tcpInUse : _udpInUse;

    /// <summary>The longest run of ports in the wildcard range free in <paramref name="occupied"/> and not excluded (sockets' use not probed).</summary>
    public int LargestFreeBlock(PortSet occupied)
    {
        int largest = 0;
        for (int port = Range.Start; port <= Range.End;)
        {
            port = PortSet.NextClear(occupied, exclusions.Ports, port, Range.End);
            if (port < 0)
            {
                break;
            }

            int end = PortSet.NextSet(occupied, exclusions.Ports, port, Range.End);
            largest = Math.Max(largest, end - port);
            port = end;
        }

        return largest;
    }

    /// <summary>
    /// From the cursor to the end of the range, then from its start (or <paramref name="lowest"/>, when that is higher);
    /// moves the cursor past the block found. With nothing found, the ports remembered in use are forgotten (they may be
    /// free by now) and the range is searched once more.
    /// </summary>
    private int Search(PortSet occupied, Func<PortRange, int> firstInUse, Action forgetInUse, int count, int lowest, ref int cursor)
    {
        int found = SearchOnce(occupied, firstInUse, count, lowest, ref cursor);
        if (found < 0)
        {
            forgetInUse();
            found = SearchOnce(occupied, firstInUse, count, lowest, ref cursor);
        }

        return found;
    }

    private int SearchOnce(PortSet occupied, Func<PortRange, int> firstInUse, int count, int lowest, ref int cursor)
    {
        int start = Math.Max(Range.Start, lowest);
        if (count > Range.End - start + 1)
        {
            return -1;
        }

        int from = cursor >= start && cursor <= Range.End ? cursor : start;
        int found = FindFreeBlock(occupied, firstInUse, count, from, Range.End);
        if (found < 0 && from > start)
        {
            found = FindFreeBlock(occupied, firstInUse, count, start, Range.End);
        }

        if (found >= 0)
        {
            cursor = found + count > Range.End ? Range.Start : found + count;
        }

        return found;
    }

    /// <summary>First block of <paramref name="count"/> ports in [from, to] free in <paramref name="occupied"/>, not excluded, and not in use.</summary>
    private int FindFreeBlock(PortSet occupied, Func<PortRange, int> firstInUse, int count, int from, int to)
    {
        int port = from;
        while (port <= to - count + 1)
        {
            port = PortSet.NextClear(occupied, exclusions.Ports, port, to);
            if (port < 0 || port > to - count + 1)
            {
                return -1;
            }

            int runEnd = PortSet.NextSet(occupied, exclusions.Ports, port, to);
            if (runEnd - port < count)
            {
                port = runEnd;
                continue;
            }

            int inUse = firstInUse(new PortRange(port, count));
            if (inUse < 0)
            {
                return port;
            }

            port = inUse + 1;
        }

        return -1;
    }
}
