namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Who holds a runtime reservation: the connection it was acquired on and that peer's kernel credentials, and whether
/// it is an administrator (exempt from per-uid quotas).
/// </summary>
internal sealed record ReservationOwner(long ConnectionId, int Pid, uint Uid, uint Gid, bool IsAdministrator = false);
