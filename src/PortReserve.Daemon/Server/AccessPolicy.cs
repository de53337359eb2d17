using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Who is an administrator: uid 0, or a member of the admin group (--admin-group, default "portreserve") by primary
/// or supplementary group as the kernel reported them at connect time.
/// </summary>
internal sealed class AccessPolicy(string adminGroupName, uint? adminGroupId)
{
    public const string DefaultAdminGroup = "portreserve";

    public string AdminGroupName { get; } = adminGroupName;

    public uint? AdminGroupId { get; } = adminGroupId;

    public static AccessPolicy Resolve(string adminGroupName) => new(adminGroupName, Interop.Accounts.GroupId(adminGroupName));

    public Requester RequesterFor(PeerCredentials peer)
        => new(peer.Pid, peer.Uid, peer.Groups, peer.Uid == 0 || (AdminGroupId is { } gid && peer.Groups.Contains(gid)));

    public string Describe() => AdminGroupId is { } gid ? $"root and members of group {AdminGroupName} ({gid})" : $"root only (group {AdminGroupName} does not exist)";
}
