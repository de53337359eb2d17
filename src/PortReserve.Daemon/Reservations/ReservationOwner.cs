namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Who holds a runtime reservation: the holder it lives as long as (a client connection, or the process a portserver
/// grant was made for), the process that holds it, and whether others' binds to its ports are refused (not for
/// portserver grants, whose ports portpicker hands to processes that did not ask for them).
/// </summary>
/// <param name="HolderId">The connection (or grant) the reservation lives as long as.</param>
/// <param name="Principal">The process that acquired it (for a grant: the process it was granted for, judged as the user who asked).</param>
/// <param name="Exclusive">Whether only the holder may bind the ports.</param>
internal sealed record ReservationOwner(HolderId HolderId, Principal Principal, bool Exclusive = true);
