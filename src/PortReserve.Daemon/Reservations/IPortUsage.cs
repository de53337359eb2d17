namespace PortReserve.Daemon.Reservations;

/// <summary>Tells whether a socket in the daemon's network namespace already has a port bound.</summary>
internal interface IPortUsage
{
    bool IsInUse(PortReservationProtocol protocol, int port);
}
