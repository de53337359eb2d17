namespace PortReserve.Daemon.Reservations;

/// <summary>Tells whether a socket in the daemon's network namespace already has a port bound.</summary>
internal interface IPortUsage
{
    /// <summary>
    /// The first port of <paramref name="range"/> a socket of <paramref name="protocol"/> has bound, or -1. When
    /// <paramref name="exact"/> is false, a port whose state cannot be told cheaply (a TCP port held by TIME_WAIT
    /// leftovers, which do not count, or by a non-listening socket, which does) counts as in use.
    /// </summary>
    int FirstInUse(PortReservationProtocol protocol, Protocol.PortRange range, bool exact);
}
