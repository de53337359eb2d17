namespace PortReserve.Daemon.Reservations;

/// <summary>Who holds a runtime reservation: the connection it was acquired on and that peer's kernel credentials.</summary>
internal sealed record ReservationOwner(long ConnectionId, int Pid, uint Uid, uint Gid);
