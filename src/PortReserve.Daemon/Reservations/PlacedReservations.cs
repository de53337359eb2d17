using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Every placed reservation, pending or visible, indexed three ways: by token, by port in its protocol's space, and (a
/// runtime one) by its holder. Each owner's quota use follows its reservations in and out, and the journal records
/// every one that comes and goes. The rules for what may be placed are the table's; this keeps the indexes agreeing.
/// </summary>
internal sealed class PlacedReservations(Func<ulong> tokenSource, UidQuotas quotas, ChangeJournal journal)
{
    private readonly TokenIndex _tokens = new(tokenSource);
    private readonly ProtocolSpace _tcp = new();
    private readonly ProtocolSpace _udp = new();
    private readonly RuntimeHolders _holders = new();

    /// <summary>Every visible reservation.</summary>
    public IEnumerable<Reservation> Visible => _tokens.Visible;

    /// <summary>Every holder with a runtime reservation placed.</summary>
    public IEnumerable<HolderId> Holders => _holders.Holders;

    public ProtocolSpace Tcp => _tcp;

    public ProtocolSpace Udp => _udp;

    /// <summary>The visible reservations by kind and protocol, with <paramref name="systemExclusions"/> ranges excluded by others.</summary>
    public ReservationCounts Counts(int systemExclusions)
    {
        int runtimeTcp = 0, runtimeUdp = 0, persistentTcp = 0, persistentUdp = 0;
        foreach (Reservation r in Visible)
        {
            switch ((r.Kind, r.Block.Protocol))
            {
                case (PortReservationKind.Runtime, PortReservationProtocol.Tcp): runtimeTcp++; break;
                case (PortReservationKind.Runtime, _): runtimeUdp++; break;
                case (_, PortReservationProtocol.Tcp): persistentTcp++; break;
                default: persistentUdp++; break;
            }
        }

        return new ReservationCounts(runtimeTcp, runtimeUdp, persistentTcp, persistentUdp, systemExclusions);
    }

    public ProtocolSpace Space(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? _tcp : _udp;

    /// <summary>A token no placed reservation has.</summary>
    public ulong NewToken() => _tokens.NewToken();

    /// <summary>The visible reservation <paramref name="token"/> names, or null.</summary>
    public Reservation? Find(ulong token) => _tokens.Find(token);

    /// <summary>Whether <paramref name="token"/> is placed (pending or visible).</summary>
    public bool IsTaken(ulong token) => _tokens.IsTaken(token);

    /// <summary>True while this very reservation is placed (pending or visible).</summary>
    public bool Contains(Reservation reservation) => _tokens.Contains(reservation);

    public Reservation Add(Reservation reservation)
    {
        journal.Record(ReservationChange.Added(reservation));
        _tokens.Add(reservation);
        Space(reservation.Block.Protocol).Add(reservation);
        if (reservation.Owner is { } owner)
        {
            _holders.Add(reservation, owner);
            quotas.Add(owner, reservation.Block.Range.Count);
        }

        return reservation;
    }

    /// <summary>Takes a placed reservation out of every index.</summary>
    public void Remove(Reservation reservation)
    {
        if (reservation.Owner is { } owner)
        {
            _holders.Remove(reservation, owner);
        }

        Forget(reservation);
    }

    /// <summary>Takes out every runtime reservation of <paramref name="holderId"/>, and returns them.</summary>
    public IReadOnlyList<Reservation> RemoveHeld(HolderId holderId)
    {
        IReadOnlyList<Reservation> held = _holders.Take(holderId);
        foreach (Reservation reservation in held)
        {
            Forget(reservation);
        }

        return held;
    }

    /// <summary>Takes a reservation out of the token index, its port space and its owner's quota (its holder is already done with).</summary>
    private void Forget(Reservation reservation)
    {
        journal.Record(ReservationChange.Removed(reservation));
        _tokens.Remove(reservation);
        Space(reservation.Block.Protocol).Remove(reservation);
        if (reservation.Owner is { } owner)
        {
            quotas.Remove(owner, reservation.Block.Range.Count);
        }
    }
}
