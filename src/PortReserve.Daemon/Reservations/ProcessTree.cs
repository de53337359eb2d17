namespace PortReserve.Daemon.Reservations;

/// <summary>
/// A cgroup the daemon made for a runtime holder's process tree: its id (what bpf_get_current_cgroup_id returns for a
/// process in it) and its depth below the hierarchy's root, at which the bind hook finds it among a binding process's
/// ancestors, so that processes in cgroups beneath it (a nested <c>portreserve run</c>) belong to the tree too.
/// </summary>
internal readonly record struct ProcessTree(ulong CgroupId, int Level);
