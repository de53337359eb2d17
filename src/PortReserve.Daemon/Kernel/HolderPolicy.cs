using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// What the bind hook keeps of one <see cref="ReservationOwner"/>: the policy id its ports point to, the pid the policy names
/// while that process lives, and its process tree.
/// </summary>
internal sealed class HolderPolicy(HolderId holderId, uint id, int pid)
{
    public HolderId HolderId { get; } = holderId;

    public uint Id { get; } = id;

    public int Pid { get; } = pid;

    public ProcessTree Tree { get; set; }

    /// <summary>Whether the policy in the map names the pid (and holds one count of it in the live map).</summary>
    public bool NamesPid { get; set; }
}
