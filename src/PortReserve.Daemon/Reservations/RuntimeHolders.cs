namespace PortReserve.Daemon.Reservations;

/// <summary>The runtime reservations each holder (a client connection, or a portserver grant's process) has, so that they go with it.</summary>
internal sealed class RuntimeHolders
{
    private readonly Dictionary<HolderId, List<Reservation>> _byHolder = [];

    public IEnumerable<HolderId> Holders => _byHolder.Keys;

    public void Add(Reservation reservation, ReservationOwner owner)
    {
        if (!_byHolder.TryGetValue(owner.HolderId, out List<Reservation>? held))
        {
            _byHolder[owner.HolderId] = held = [];
        }

        held.Add(reservation);
    }

    public void Remove(Reservation reservation, ReservationOwner owner)
    {
        if (_byHolder.TryGetValue(owner.HolderId, out List<Reservation>? held) && held.Remove(reservation) && held.Count == 0)
        {
            _byHolder.Remove(owner.HolderId);
        }
    }

    /// <summary>Forgets the holder and returns what it held.</summary>
    public IReadOnlyList<Reservation> Take(HolderId holderId) => _byHolder.Remove(holderId, out List<Reservation>? held) ? held : [];
}
