using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Finds free blocks for wildcard requests inside the wildcard range: next-fit (each protocol, and the both-protocols
/// search of portserver grants, resumes after the block it last handed out, so released ports are not handed out again
/// at once), skipping 64-port words of the occupancy maps at a time, and asking the port probe only about candidates.
/// </summary>
internal sealed class WildcardSearch(PortRange range, SystemExclusions exclusions, IPortUsage portUsage)
{
    private readonly PortSet _eitherProtocol = new();
    private int _tcpCursor;
    private int _udpCursor;
    private int _bothCursor;

    public PortRange Range { get; } = range;

    /// <summary>The first port of a free block of <paramref name="count"/> ports of <paramref name="protocol"/> from <paramref name="lowest"/> up, or -1.</summary>
    public int Find(PortReservationProtocol protocol, PortSet occupied, int count, int lowest = 1)
        => Search(occupied, block => FirstInUse(protocol, block), count, lowest, ref protocol == PortReservationProtocol.Tcp ? ref _tcpCursor : ref _udpCursor);

    /// <summary>The first port of a block of <paramref name="count"/> ports free in both protocols from <paramref name="lowest"/> up, or -1.</summary>
    public int FindInBoth(PortSet tcpOccupied, PortSet udpOccupied, int count, int lowest = 1)
    {
        _eitherProtocol.CopyFrom(tcpOccupied);
        _eitherProtocol.UnionWith(udpOccupied);

        // A port in use on either protocol rules the block out: resume after the later of the two.
        return Search(
            _eitherProtocol,
            block => Math.Max(FirstInUse(PortReservationProtocol.Tcp, block), FirstInUse(PortReservationProtocol.Udp, block)),
            count,
            lowest,
            ref _bothCursor);
    }

    /// <summary>The first port of <paramref name="range"/> a socket of <paramref name="protocol"/> may have bound, or -1 (a wildcard block avoids doubtful ports).</summary>
    private int FirstInUse(PortReservationProtocol protocol, PortRange range) => portUsage.FirstInUse(protocol, range, exact: false);

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
    /// moves the cursor past the block found.
    /// </summary>
    private int Search(PortSet occupied, Func<PortRange, int> firstInUse, int count, int lowest, ref int cursor)
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
