using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>The port space of one protocol: which ports are reserved and by which reservation.</summary>
internal sealed class ProtocolSpace
{
    private readonly Reservation?[] _owners = new Reservation?[PortRange.MaxPort + 1];

    public PortSet Occupied { get; } = new();

    public Reservation? OwnerOf(int port) => _owners[port];

    public void Add(Reservation reservation)
    {
        Occupied.Add(reservation.Block.Range);
        _owners.AsSpan(reservation.Block.Range.Start, reservation.Block.Range.Count).Fill(reservation);
    }

    public void Remove(Reservation reservation)
    {
        Occupied.Remove(reservation.Block.Range);
        _owners.AsSpan(reservation.Block.Range.Start, reservation.Block.Range.Count).Clear();
    }
}
