using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>Reading table outcomes in tests: each helper asserts the outcome it expects and hands out what it holds.</summary>
internal static class TableTesting
{
    public static T Granted<T>(this TableResult<T> result)
        where T : class
    {
        Assert.True(result.TryGet(out T? value, out Refusal? refusal), $"refused: {refusal?.Kind}: {refusal?.Message}");
        return value;
    }

    public static Refusal Refused<T>(this TableResult<T> result)
        where T : class
    {
        Assert.False(result.TryGet(out _, out Refusal? refusal), "granted, but a refusal was expected");
        return refusal;
    }

    public static bool Succeeded<T>(this TableResult<T> result)
        where T : class
        => result.TryGet(out _, out _);

    public static TableResult<Reservation> Acquire(this ReservationTable table, PortReservationProtocol protocol, int start, int count, ReservationOwner owner)
        => table.Acquire(new PortBlock(protocol, start, count), owner);

    /// <summary>Places and publishes a persistent reservation, as a create whose store write succeeded does.</summary>
    public static TableResult<Reservation> CreatePersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range, PersistentConsumers consumers)
    {
        TableResult<Reservation> placed = table.PlacePersistent(new PortBlock(protocol, range), consumers);
        if (placed.TryGet(out Reservation? pending, out _))
        {
            table.Publish(pending);
        }

        return placed;
    }

    public static TableResult<Reservation> FindPersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range)
        => table.FindPersistent(new PortBlock(protocol, range));

    /// <summary>Finds and removes a persistent reservation, as a delete whose store write succeeded does.</summary>
    public static TableResult<Reservation> DeletePersistent(this ReservationTable table, PortReservationProtocol protocol, PortRange range)
    {
        TableResult<Reservation> found = table.FindPersistent(new PortBlock(protocol, range));
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
