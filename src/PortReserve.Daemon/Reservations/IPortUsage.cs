namespace PortReserve.Daemon.Reservations;

/// <summary>Tells whether a socket in the daemon's network namespace already has a port bound.</summary>
internal interface IPortUsage
{
    /// <summary>The first port of <paramref name="range"/> a socket of <paramref name="protocol"/> has bound, or -1.</summary>
    int FirstInUse(PortReservationProtocol protocol, Protocol.PortRange range);
}
