using PortReserve.Protocol;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>Ports "bound by other sockets", for table tests; the real probe is exercised by the integration tests.</summary>
internal sealed class FakePortUsage : IPortUsage
{
    public HashSet<(PortReservationProtocol Protocol, int Port)> InUse { get; } = [];

    /// <summary>Called at each probe, for tests of when the probe runs.</summary>
    public Action<PortRange>? Probed { get; set; }

    public int FirstInUse(PortReservationProtocol protocol, PortRange range, bool exact)
    {
        Probed?.Invoke(range);
        for (int port = range.Start; port <= range.End; port++)
        {
            if (InUse.Contains((protocol, port)))
            {
                return port;
            }
        }

        return -1;
    }
}
