using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>Turns the user and group names a create names (<c>--allow-user</c>, <c>--allow-group</c>) into ids, through NSS, once.</summary>
internal static class ConsumerNames
{
    public const int MaxLength = 64;

    /// <summary>The named users and groups as ids, or why not (a name too long, empty, or unknown on this machine).</summary>
    public static Refusable<PersistentConsumers> Resolve(IReadOnlyList<string> users, IReadOnlyList<string> groups)
    {
        if (users.Concat(groups).FirstOrDefault(n => n.Length is 0 or > MaxLength) is { } bad)
        {
            return Invalid($"'{bad[..Math.Min(bad.Length, 40)]}' is not a user or group name (1-{MaxLength} characters)");
        }

        if (!Lookup(users, Interop.Accounts.UserId, "--allow-user", "user").TryGet(out ConsumerList? userIds, out Refusal? refusal)
            || !Lookup(groups, Interop.Accounts.GroupId, "--allow-group", "group").TryGet(out ConsumerList? groupIds, out refusal))
        {
            return refusal;
        }

        return WithGroupMembers(new PersistentConsumers(userIds.Sorted(), groupIds.Sorted()));
    }

    /// <summary>The consumers with their groups' members read from the account database now.</summary>
    public static PersistentConsumers WithGroupMembers(PersistentConsumers consumers)
        => consumers.Groups.Count == 0
            ? consumers
            : consumers with { GroupMemberUids = [.. consumers.Groups.SelectMany(g => Interop.Accounts.GroupMembers(g.Id)).Distinct().Order()] };

    private static Refusable<ConsumerList> Lookup(IReadOnlyList<string> names, Func<string, uint?> lookup, string option, string what)
    {
        var resolved = new ConsumerList();
        foreach (string name in names.Distinct(StringComparer.Ordinal))
        {
            if (lookup(name) is not { } id)
            {
                return Invalid($"{option} {name}: no such {what} on this machine");
            }

            resolved.Add(new Consumer(id, name));
        }

        return resolved;
    }

    private static Refusal Invalid(string message) => new(PortReservationErrorKind.InvalidArgument, message);

    private sealed class ConsumerList : List<Consumer>
    {
        public Consumer[] Sorted() => [.. this.DistinctBy(c => c.Id).OrderBy(c => c.Id)];
    }
}
