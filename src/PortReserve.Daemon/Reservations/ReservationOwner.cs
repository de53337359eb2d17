namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Who holds a runtime reservation: the holder it lives as long as (a client connection, or the process a portserver
/// grant was made for), the process that acquired it, that process's kernel credentials, whether it is an administrator
/// (exempt from per-uid quotas), and whether others' binds to its ports are refused (not for portserver grants, whose
/// ports portpicker hands to processes that did not ask for them).
/// </summary>
/// <param name="HolderId">The connection (or grant) the reservation lives as long as.</param>
/// <param name="ProcessId">
/// The acquiring process for good: its pidfs inode, which no other process has this boot, however its pid is reused.
/// Only a requester with the same one may use, see or release the reservation.
/// </param>
/// <param name="Pid">That process's pid, for messages and the bind hook (which the daemon revokes when the process exits).</param>
/// <param name="Uid">Its real uid.</param>
/// <param name="Gid">Its real gid.</param>
/// <param name="IsAdministrator">Exempt from quotas, and may reserve privileged ports.</param>
/// <param name="Exclusive">Whether only the holder may bind the ports.</param>
internal sealed record ReservationOwner(HolderId HolderId, ulong ProcessId, int Pid, uint Uid, uint Gid, bool IsAdministrator = false, bool Exclusive = true);
