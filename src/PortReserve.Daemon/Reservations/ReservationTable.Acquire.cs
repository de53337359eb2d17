using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

internal sealed partial class ReservationTable
{
    private int _tcpCursor;
    private int _udpCursor;

    /// <summary>
    /// Acquires a runtime reservation: exactly <c>[start, start+count-1]</c>, or with <paramref name="start"/> 0 a free
    /// block of <paramref name="count"/> ports inside the wildcard range that holds no port in use.
    /// </summary>
    public TableResult Acquire(PortReservationProtocol protocol, int start, int count, ReservationOwner owner)
    {
        if (count is < 1 or > PortRange.MaxPort || start is < 0 or > PortRange.MaxPort || (start > 0 && start + count - 1 > PortRange.MaxPort))
        {
            return InvalidRange(start, count);
        }

        if (CheckQuota(owner, count) is { } quotaFailure)
        {
            return quotaFailure;
        }

        TableResult placed = start == 0 ? PlaceWildcard(protocol, count) : PlaceSpecific(protocol, new PortRange(start, count));
        if (!placed.Succeeded)
        {
            return placed;
        }

        var reservation = new Reservation(protocol, placed.Reservation!.Range, NewToken(), PortReservationKind.Runtime, owner);
        Add(reservation);
        return TableResult.Ok(reservation);
    }

    private TableResult? CheckQuota(ReservationOwner owner, int count)
    {
        if (owner.IsAdministrator)
        {
            return null;
        }

        _usageByUid.TryGetValue(owner.Uid, out UidUsage? usage);
        int ports = usage?.Ports ?? 0;
        int reservations = usage?.Reservations ?? 0;
        if (ports + (long)count > Quotas.MaxRuntimePortsPerUid)
        {
            return TableResult.Fail(PortReservationErrorKind.NoBufferSpaceAvailable, $"uid {owner.Uid} holds {ports} runtime port(s); {count} more would exceed the quota of {Quotas.MaxRuntimePortsPerUid} (release some, or raise --max-runtime-ports-per-uid)");
        }

        if (reservations + 1 > Quotas.MaxRuntimeReservationsPerUid)
        {
            return TableResult.Fail(PortReservationErrorKind.NoBufferSpaceAvailable, $"uid {owner.Uid} holds {reservations} runtime reservation(s), the quota; release some first");
        }

        return null;
    }

    private TableResult PlaceSpecific(PortReservationProtocol protocol, PortRange range)
    {
        ProtocolSpace space = Space(protocol);
        int taken = space.Occupied.FirstIn(range);
        if (taken >= 0)
        {
            Reservation holder = space.OwnerOf(taken)!;
            return TableResult.Fail(PortReservationErrorKind.AddressAlreadyInUse, $"{Name(protocol)} {Ports(range)} overlap {holder.Describe()}");
        }

        int excluded = _system.FirstIn(range);
        if (excluded >= 0)
        {
            return TableResult.Fail(PortReservationErrorKind.AddressAlreadyInUse, $"{Name(protocol)} {Ports(range)} overlap system exclusion {SystemRangeContaining(excluded)} (an entry of ip_local_reserved_ports that portreserved did not create)");
        }

        for (int port = range.Start; port <= range.End; port++)
        {
            if (_portUsage.IsInUse(protocol, port))
            {
                return TableResult.Fail(PortReservationErrorKind.AddressAlreadyInUse, $"{Name(protocol)} port {port} is in use: a socket in this network namespace has it bound");
            }
        }

        return TableResult.Ok(new Reservation(protocol, range, 0, PortReservationKind.Runtime, null));
    }

    private TableResult PlaceWildcard(PortReservationProtocol protocol, int count)
    {
        ref int cursor = ref protocol == PortReservationProtocol.Tcp ? ref _tcpCursor : ref _udpCursor;
        int found = SearchWildcardRange(Space(protocol).Occupied, range => FirstInUse(protocol, range), count, ref cursor);
        return found >= 0
            ? TableResult.Ok(new Reservation(protocol, new PortRange(found, count), 0, PortReservationKind.Runtime, null))
            : TableResult.Fail(PortReservationErrorKind.NoBufferSpaceAvailable, $"no free block of {count} consecutive {Name(protocol)} port(s) in the wildcard range {WildcardRange}: release reservations, ask for fewer ports, or widen --wildcard-range");
    }

    /// <summary>
    /// Next-fit search of the wildcard range, from <paramref name="cursor"/> to the end and then from the start, for
    /// <paramref name="count"/> ports free in <paramref name="occupied"/>, not excluded, and not in use; moves the cursor
    /// past the block found. Returns its first port, or -1.
    /// </summary>
    private int SearchWildcardRange(PortSet occupied, Func<PortRange, int> firstInUse, int count, ref int cursor)
    {
        PortRange window = WildcardRange;
        if (count > window.Count)
        {
            return -1;
        }

        int from = window.Contains(cursor) ? cursor : window.Start;
        int found = FindFreeBlock(occupied, firstInUse, count, from, window.End);
        if (found < 0 && from > window.Start)
        {
            found = FindFreeBlock(occupied, firstInUse, count, window.Start, window.End);
        }

        if (found >= 0)
        {
            // Next-fit: start the next search after this block so released ports are not handed out again at once.
            cursor = found + count > window.End ? window.Start : found + count;
        }

        return found;
    }

    /// <summary>First block of <paramref name="count"/> ports in [from, to] free in <paramref name="occupied"/>, not excluded, and not in use.</summary>
    private int FindFreeBlock(PortSet occupied, Func<PortRange, int> firstInUse, int count, int from, int to)
    {
        int port = from;
        while (port <= to - count + 1)
        {
            port = PortSet.NextClear(occupied, _system, port, to);
            if (port < 0 || port > to - count + 1)
            {
                return -1;
            }

            int runEnd = PortSet.NextSet(occupied, _system, port, to);
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

    /// <summary>The longest run of ports in the wildcard range free in the table and not excluded (sockets' use not probed).</summary>
    public int LargestFreeWildcardBlock(PortReservationProtocol protocol)
    {
        PortSet occupied = Space(protocol).Occupied;
        int largest = 0;
        for (int port = WildcardRange.Start; port <= WildcardRange.End;)
        {
            port = PortSet.NextClear(occupied, _system, port, WildcardRange.End);
            if (port < 0)
            {
                break;
            }

            int end = PortSet.NextSet(occupied, _system, port, WildcardRange.End);
            largest = Math.Max(largest, end - port);
            port = end;
        }

        return largest;
    }

    private int FirstInUse(PortReservationProtocol protocol, PortRange range)
    {
        for (int port = range.Start; port <= range.End; port++)
        {
            if (_portUsage.IsInUse(protocol, port))
            {
                return port;
            }
        }

        return -1;
    }

    private static string Name(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP";

    private static string Ports(PortRange range) => range.Count == 1 ? $"port {range}" : $"ports {range}";
}
