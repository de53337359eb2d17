namespace PortReserve.Daemon.Kernel;

/// <summary>A persistent reservation's policy id and the (kind, id) entries it allows, a process's once per use granted.</summary>
internal sealed record PersistentPolicy(uint Id, List<(uint Kind, uint Id)> Allowed);
