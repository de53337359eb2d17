namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The users and groups (beyond administrators) who may associate sockets with a persistent reservation and bind its
/// ports. Empty means administrators only, as on Windows.
/// </summary>
internal sealed record PersistentConsumers(IReadOnlyList<Consumer> Users, IReadOnlyList<Consumer> Groups)
{
    public static PersistentConsumers None { get; } = new([], []);

    /// <summary>
    /// The uids the account database lists as members of <see cref="Groups"/>, read when the reservation was created or
    /// restored: the bind hook sees a process's uid and primary gid, not its supplementary groups.
    /// </summary>
    public IReadOnlyList<uint> GroupMemberUids { get; init; } = [];

    /// <summary>Who may consume it, for logs.</summary>
    public string Describe()
        => Users.Count + Groups.Count == 0
            ? "administrators only"
            : string.Join(", ", Users.Select(u => $"user {u}").Concat(Groups.Select(g => $"group {g}")));

    /// <summary>The same users, groups and group members, in the same order (as resolution sorts them by id).</summary>
    public bool SameAs(PersistentConsumers other)
        => Users.SequenceEqual(other.Users) && Groups.SequenceEqual(other.Groups) && GroupMemberUids.SequenceEqual(other.GroupMemberUids);

    public bool Allows(Principal requester)
        => requester.IsAdministrator
        || Users.Any(u => u.Id == requester.Uid)
        || Groups.Any(g => requester.Groups.Contains(g.Id));
}
