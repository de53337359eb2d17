namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The users and groups (beyond administrators) who may associate sockets with a persistent reservation. Empty means
/// administrators only, as on Windows.
/// </summary>
internal sealed record PersistentConsumers(IReadOnlyList<Consumer> Users, IReadOnlyList<Consumer> Groups)
{
    public static PersistentConsumers None { get; } = new([], []);

    public bool Allows(Requester requester)
        => requester.IsAdministrator
        || Users.Any(u => u.Id == requester.Uid)
        || Groups.Any(g => requester.Groups.Contains(g.Id));
}
