using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>Ports "bound by other sockets", for table tests; the real probe is exercised by the integration tests.</summary>
internal sealed class FakePortUsage : IPortUsage
{
    public HashSet<(PortReservationProtocol Protocol, int Port)> InUse { get; } = [];

    public bool IsInUse(PortReservationProtocol protocol, int port) => InUse.Contains((protocol, port));
}
