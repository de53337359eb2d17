namespace PortReserve.Daemon.Reservations;

/// <summary>Why a request was not carried out: the error kind the client gets, and a message a person can act on.</summary>
internal sealed record Refusal(PortReservationErrorKind Kind, string Message);
