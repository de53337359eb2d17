namespace PortReserve.Daemon.Reservations;

/// <summary>What each uid holds in runtime reservations, against the per-uid limits. Administrators are exempt.</summary>
internal sealed class UidQuotas(QuotaPolicy policy)
{
    private readonly Dictionary<uint, Usage> _byUid = [];

    public QuotaPolicy Policy { get; } = policy;

    /// <summary>Refuses <paramref name="reservations"/> more reservations of <paramref name="ports"/> ports in all for <paramref name="owner"/> when over a quota.</summary>
    public Refusal? Check(ReservationOwner owner, int reservations, int ports)
    {
        if (owner.Principal.IsAdministrator)
        {
            return null;
        }

        Usage usage = _byUid.GetValueOrDefault(owner.Principal.Uid);
        if (usage.Ports + (long)ports > Policy.MaxRuntimePortsPerUid)
        {
            return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"uid {owner.Principal.Uid} holds {usage.Ports} runtime port(s); {ports} more would exceed the quota of {Policy.MaxRuntimePortsPerUid} (release some, or raise --max-runtime-ports-per-uid)");
        }

        if (usage.Reservations + (long)reservations > Policy.MaxRuntimeReservationsPerUid)
        {
            return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"uid {owner.Principal.Uid} holds {usage.Reservations} runtime reservation(s), the quota; release some first");
        }

        return null;
    }

    public void Add(ReservationOwner owner, int ports)
    {
        Usage usage = _byUid.GetValueOrDefault(owner.Principal.Uid);
        _byUid[owner.Principal.Uid] = new Usage(usage.Reservations + 1, usage.Ports + ports);
    }

    public void Remove(ReservationOwner owner, int ports)
    {
        Usage usage = _byUid[owner.Principal.Uid];
        if (usage.Reservations == 1)
        {
            _byUid.Remove(owner.Principal.Uid);
        }
        else
        {
            _byUid[owner.Principal.Uid] = new Usage(usage.Reservations - 1, usage.Ports - ports);
        }
    }

    private readonly record struct Usage(int Reservations, int Ports);
}
