namespace PortReserve.Daemon.Reservations;

/// <summary>Who makes a request, from the kernel's peer credentials: pid, uid, every group, and whether that is an administrator.</summary>
internal sealed record Requester(int Pid, uint Uid, IReadOnlyList<uint> Groups, bool IsAdministrator);
