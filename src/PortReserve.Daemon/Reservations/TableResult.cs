namespace PortReserve.Daemon.Reservations;

/// <summary>The outcome of a table operation: a reservation, or an error kind with a message for the client.</summary>
internal readonly record struct TableResult(Reservation? Reservation, PortReservationErrorKind? Error, string? Message)
{
    public bool Succeeded => Error is null;

    public static TableResult Ok(Reservation reservation) => new(reservation, null, null);

    public static TableResult Fail(PortReservationErrorKind error, string message) => new(null, error, message);
}
