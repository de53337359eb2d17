using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>Reading table outcomes in tests: each helper asserts the outcome it expects and hands out what it holds.</summary>
internal static class TableTesting
{
    public static T Granted<T>(this Refusable<T> result)
        where T : class
    {
        Assert.True(result.TryGet(out T? value, out Refusal? refusal), $"refused: {refusal?.Kind}: {refusal?.Message}");
        return value;
    }

    public static Refusal Refused<T>(this Refusable<T> result)
        where T : class
    {
        Assert.False(result.TryGet(out _, out Refusal? refusal), "granted, but a refusal was expected");
        return refusal;
    }

    public static bool Succeeded<T>(this Refusable<T> result)
        where T : class
        => result.TryGet(out _, out _);

    /// <summary>
    /// Places and confirms a runtime reservation, as the ledger does once the kernel enforces it: a chosen block found in
    /// use is replaced.
    /// </summary>
    public static Refusable<Reservation> Acquire(this ReservationTable table, PortReservationProtocol protocol, int start, int count, ReservationOwner owner)
        => Placed(table, () => table.Acquire(new PortBlock(protocol, start, count), owner).Confirmed(table), retry: start == 0);

    /// <summary>Places and confirms a portserver grant's pair, as the ledger does.</summary>
    public static Refusable<Reservation> AcquireBothConfirmed(this ReservationTable table, int count, ReservationOwner owner)
        => Placed(table, () => table.AcquireBoth(count, owner) is var placed && placed.TryGet(out Reservation? tcp, out _) ? table.ConfirmBoth(tcp) : placed, retry: true);

    /// <summary>
    /// Places until a chosen block is free. Each block found in use is remembered, so the search reaches a free block
    /// (or, with none, comes round again): after as many tries as there are ports, there is none, as the ledger says.
    /// </summary>
    private static Refusable<Reservation> Placed(ReservationTable table, Func<Refusable<Reservation>> place, bool retry)
    {
        Refusable<Reservation> result = place();
        for (int attempt = 0; retry && !result.TryGet(out _, out Refusal? refusal) && refusal.Kind == PortReservationErrorKind.AddressAlreadyInUse; attempt++)
        {
            if (attempt > 2 * table.WildcardRange.Count)
            {
                return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, "no free block found");
            }

            result = place();
        }

        return result;
    }

    private static Refusable<Reservation> Confirmed(this Refusable<Reservation> placed, ReservationTable table)
        => placed.TryGet(out Reservation? reservation, out _) ? table.Confirm(reservation) : placed;

    /// <summary>A release by the process <paramref name="pid"/> (whose identity, in these tests, is its pid).</summary>
    public static Refusable<Reservation> Release(this ReservationTable table, ulong token, int pid)
        => table.Release(token, new Principal(pid, (ulong)pid, 1000, 1000, [1000], IsAdministrator: false));

    /// <summary>Places and publishes a persistent reservation, as a create whose store write succeeded does.</summary>
    public static Refusable<Reservation> CreatePersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range, PersistentConsumers consumers)
    {
        Refusable<Reservation> placed = table.PlacePersistent(new PortBlock(protocol, range), consumers).Confirmed(table);
        if (placed.TryGet(out Reservation? pending, out _))
        {
            table.Publish(pending);
        }

        return placed;
    }

    public static Refusable<Reservation> FindPersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range)
        => table.FindPersistent(new PortBlock(protocol, range));

    /// <summary>Finds and removes a persistent reservation, as a delete whose store write succeeded does.</summary>
    public static Refusable<Reservation> DeletePersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range)
    {
        Refusable<Reservation> found = table.FindPersistent(new PortBlock(protocol, range));
        if (found.TryGet(out Reservation? reservation, out _))
        {
            table.Remove(reservation);
        }

        return found;
    }

    public static Reservation RestorePersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range, PersistentConsumers consumers)
        => table.RestorePersistent(new PortBlock(protocol, range), consumers);

    /// <summary>The visible reservation with <paramref name="token"/>, if any.</summary>
    public static Reservation? Find(this ReservationTable table, ulong token) => table.Reservations.FirstOrDefault(r => r.Token == token);
}
