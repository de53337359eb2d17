using System.Diagnostics.Metrics;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Server;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Metrics;

/// <summary>
/// What the metrics show: the event counts, and gauges read when asked (live reservations by kind and protocol, open
/// connections), registered on the counters' meter.
/// </summary>
internal sealed class DaemonMetrics
{
    private readonly ReservationLedger _ledger;
    private readonly ConnectionLimits _connections;

    public DaemonMetrics(DaemonCounters counters, ReservationLedger ledger, ConnectionLimits connections)
    {
        Counters = counters;
        _ledger = ledger;
        _connections = connections;
        counters.Meter.CreateObservableGauge("portreserve.reservations", () => Reservations().Select(c => new Measurement<int>(c.Count, new("kind", c.Kind), new("protocol", c.Protocol))), description: "Live reservations by kind and protocol");
        counters.Meter.CreateObservableGauge("portreserve.connections", () => Connections, description: "Open client connections");
    }

    public DaemonCounters Counters { get; }

    public int Connections => _connections.Open;

    /// <summary>Live reservations by kind and protocol (system exclusions apply to both protocols).</summary>
    public IReadOnlyList<ReservationCount> Reservations()
    {
        ReservationCounts counts = _ledger.Read(view => view.Counts);
        return
        [
            new("runtime", "tcp", counts.RuntimeTcp),
            new("runtime", "udp", counts.RuntimeUdp),
            new("persistent", "tcp", counts.PersistentTcp),
            new("persistent", "udp", counts.PersistentUdp),
            new("system", "both", counts.SystemRanges),
        ];
    }
}
