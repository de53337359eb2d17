namespace PortReserve;

/// <summary>Who besides administrators may consume a persistent reservation (associate sockets with it and bind from it).</summary>
public sealed class PersistentReservationOptions
{
    /// <summary>User names or numeric uids allowed to consume the reservation.</summary>
    public IList<string> AllowedUsers { get; } = [];

    /// <summary>Group names or numeric gids whose members may consume the reservation.</summary>
    public IList<string> AllowedGroups { get; } = [];
}
