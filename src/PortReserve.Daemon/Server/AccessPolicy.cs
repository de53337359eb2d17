namespace PortReserve.Daemon.Server;

/// <summary>
/// Who is an administrator: uid 0, the uid the daemon runs as (a per-user daemon belongs to its user), or a member of
/// the admin group (--admin-group, default "portreserve") by primary or supplementary group as the kernel reported
/// them at connect time.
/// </summary>
internal sealed class AccessPolicy(string adminGroupName, uint? adminGroupId, uint daemonUid = 0)
{
    public const string DefaultAdminGroup = "portreserve";

    public string AdminGroupName { get; } = adminGroupName;

    public uint? AdminGroupId { get; } = adminGroupId;

    public static AccessPolicy Resolve(string adminGroupName) => new(adminGroupName, Interop.Accounts.GroupId(adminGroupName), Protocol.SocketLocations.EffectiveUid);

    /// <summary>Root, the daemon's own user, and members of the administrators group (supplementary groups count).</summary>
    public bool IsAdministrator(uint uid, IReadOnlyCollection<uint> groups)
        => uid == 0 || uid == daemonUid || (AdminGroupId is { } gid && groups.Contains(gid));

    public string Describe()
    {
        string owner = daemonUid == 0 ? "root" : $"root, uid {daemonUid} (the daemon's own user)";
        return AdminGroupId is { } gid ? $"{owner} and members of group {AdminGroupName} ({gid})" : $"{owner} only (group {AdminGroupName} does not exist)";
    }
}
