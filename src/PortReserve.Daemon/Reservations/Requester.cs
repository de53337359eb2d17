namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Who makes a request, from the kernel's view of the peer: pid, the process's lasting identity (see
/// <see cref="ReservationOwner.ProcessId"/>), real uid, every group, and whether that is an administrator.
/// </summary>
internal sealed record Requester(int Pid, ulong ProcessId, uint Uid, IReadOnlyList<uint> Groups, bool IsAdministrator);
