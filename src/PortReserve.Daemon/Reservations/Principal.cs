namespace PortReserve.Daemon.Reservations;

/// <summary>
/// A process as the daemon judges it: who asks for something, and who holds a runtime reservation. Its pid, its lasting
/// identity, its real uid and gid and every group, from the kernel's view of it (never from what it claims), and
/// whether the access policy counts it an administrator.
/// </summary>
/// <param name="Pid">Its pid, for messages and the bind hook (which the daemon revokes when the process exits).</param>
/// <param name="ProcessId">
/// The process for good: its pidfs inode, which no other process has this boot, however its pid is reused. Only a
/// requester with the same one may use, see or release a runtime reservation this process holds.
/// </param>
/// <param name="Uid">Its real uid: the bind hook sees only real ids, so the daemon judges by them too.</param>
/// <param name="Gid">Its real gid.</param>
/// <param name="Groups">Its real gid and supplementary groups, which persistent reservations' consumer lists name.</param>
/// <param name="IsAdministrator">Exempt from quotas, may reserve privileged ports and change persistent reservations.</param>
internal sealed record Principal(int Pid, ulong ProcessId, uint Uid, uint Gid, IReadOnlyList<uint> Groups, bool IsAdministrator);
