namespace PortReserve.Protocol;

/// <summary>Live reservations by kind and protocol, and the system exclusions (ranges, which apply to both protocols).</summary>
internal readonly record struct ReservationCounts(int RuntimeTcp, int RuntimeUdp, int PersistentTcp, int PersistentUdp, int SystemRanges)
{
    public int Runtime => RuntimeTcp + RuntimeUdp;

    public int Persistent => PersistentTcp + PersistentUdp;
}
