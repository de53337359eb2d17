namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Who holds a runtime reservation: the holder it lives as long as (a client connection, or the process a portserver
/// grant was made for), that peer's kernel credentials, whether it is an administrator (exempt from per-uid quotas),
/// and whether others' binds to its ports are refused (not for portserver grants, whose ports portpicker hands to
/// processes that did not ask for them).
/// </summary>
internal sealed record ReservationOwner(long HolderId, int Pid, uint Uid, uint Gid, bool IsAdministrator = false, bool Exclusive = true);
