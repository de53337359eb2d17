using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

internal sealed partial class ReservationTable
{
    public int PersistentCount => Count - RuntimeCount;

    /// <summary>
    /// Creates a persistent reservation of exactly <paramref name="range"/> (the caller has checked that the requester
    /// is an administrator). Like an acquire, it may not overlap anything live, a system exclusion, or a port in use.
    /// </summary>
    public TableResult CreatePersistent(PortReservationProtocol protocol, PortRange range, PersistentConsumers consumers)
    {
        if (range.Start == 0)
        {
            return TableResult.Fail(PortReservationErrorKind.InvalidArgument, "a persistent reservation names its exact block: --start 0 (any block) is for runtime reservations only");
        }

        if (!range.IsValid)
        {
            return InvalidRange(range.Start, range.Count);
        }

        TableResult placed = PlaceSpecific(protocol, range);
        if (!placed.Succeeded)
        {
            return placed;
        }

        var reservation = new Reservation(protocol, range, NewToken(), PortReservationKind.Persistent, owner: null, consumers);
        Add(reservation);
        return TableResult.Ok(reservation);
    }

    /// <summary>
    /// Puts a stored persistent reservation back at start-up, with a new token. No in-use check: the block was the
    /// machine's before anything now running bound it. Stored blocks never overlap; if they do, the store is corrupt.
    /// </summary>
    public Reservation RestorePersistent(PortReservationProtocol protocol, PortRange range, PersistentConsumers consumers)
    {
        int taken = range.IsValid ? Space(protocol).Occupied.FirstIn(range) : -2;
        if (taken != -1)
        {
            throw new InvalidDataException($"stored persistent reservation {Name(protocol)} {range} is invalid or overlaps another stored one");
        }

        var reservation = new Reservation(protocol, range, NewToken(), PortReservationKind.Persistent, owner: null, consumers);
        Add(reservation);
        return reservation;
    }

    /// <summary>The persistent reservation whose block is exactly <paramref name="range"/> (Windows lookup semantics).</summary>
    public TableResult FindPersistent(PortReservationProtocol protocol, PortRange range)
    {
        if (!range.IsValid)
        {
            return InvalidRange(range.Start, range.Count);
        }

        Reservation? holder = Space(protocol).OwnerOf(range.Start);
        return holder is { Kind: PortReservationKind.Persistent } && holder.Range == range
            ? TableResult.Ok(holder)
            : TableResult.Fail(PortReservationErrorKind.NotFound, $"no persistent {Name(protocol)} reservation is exactly {range} (lookup and delete take the start and count used at creation; portreserve show lists them)");
    }

    /// <summary>Removes the persistent reservation whose block is exactly <paramref name="range"/>.</summary>
    public TableResult DeletePersistent(PortReservationProtocol protocol, PortRange range)
    {
        TableResult found = FindPersistent(protocol, range);
        if (found.Reservation is { } reservation)
        {
            Remove(reservation);
        }

        return found;
    }

    /// <summary>Puts back a persistent reservation whose removal could not be made durable.</summary>
    public void Reinstate(Reservation reservation) => Add(reservation);

    private static TableResult InvalidRange(int start, int count)
        => TableResult.Fail(PortReservationErrorKind.InvalidArgument, $"cannot reserve {count} port(s) from {start}: count must be 1-65535, start 1-65535 (0 for any), and the block must end at or below 65535");
}
