using System.Diagnostics.Metrics;

namespace PortReserve.Daemon.Metrics;

/// <summary>
/// The daemon's counters and gauges, published as a <see cref="Meter"/> named <see cref="MeterName"/> (readable with
/// <c>dotnet-counters monitor --counters PortReserve.Daemon</c>) and rendered as Prometheus text by
/// <see cref="PrometheusExposition"/>. The counts are kept here, so both views report the same numbers.
/// </summary>
internal sealed class DaemonMetrics : IDisposable
{
    public const string MeterName = "PortReserve.Daemon";

    private readonly Meter _meter;
    private readonly long[] _refusals = new long[(int)PortReservationErrorKind.Aborted + 1];
    private readonly Histogram<double> _kernelWriteDuration;
    private long _acquired;
    private long _released;
    private long _grants;
    private long _kernelWrites;
    private long _kernelWriteMicroseconds;

    public DaemonMetrics(string version, Func<IReadOnlyList<ReservationCount>> reservations, Func<int> connections)
    {
        _meter = new Meter(MeterName, version);
        Reservations = reservations;
        Connections = connections;
        _meter.CreateObservableGauge("portreserve.reservations", () => Reservations().Select(c => new Measurement<int>(c.Count, new("kind", c.Kind), new("protocol", c.Protocol))), description: "Live reservations by kind and protocol");
        _meter.CreateObservableGauge("portreserve.connections", () => Connections(), description: "Open client connections");
        _meter.CreateObservableCounter("portreserve.reservations.acquired", () => Acquired, description: "Runtime reservations acquired and persistent ones created");
        _meter.CreateObservableCounter("portreserve.reservations.released", () => Released, description: "Reservations released, deleted, or dropped with their connection or process");
        _meter.CreateObservableCounter("portreserve.portserver.grants", () => Grants, description: "Ports granted through the portserver endpoint");
        _meter.CreateObservableCounter("portreserve.refusals", () => RefusalsByKind().Select(r => new Measurement<long>(r.Count, new KeyValuePair<string, object?>("kind", r.Kind))), description: "Requests refused, by error kind");
        _meter.CreateObservableCounter("portreserve.kernel.writes", () => KernelWrites, description: "Writes of net.ipv4.ip_local_reserved_ports");
        _kernelWriteDuration = _meter.CreateHistogram<double>("portreserve.kernel.write.duration", unit: "s", description: "Time to write the kernel's reserved port list");
    }

    public Func<IReadOnlyList<ReservationCount>> Reservations { get; }

    public Func<int> Connections { get; }

    public long Acquired => Interlocked.Read(ref _acquired);

    public long Released => Interlocked.Read(ref _released);

    public long Grants => Interlocked.Read(ref _grants);

    public long KernelWrites => Interlocked.Read(ref _kernelWrites);

    public double KernelWriteSeconds => Interlocked.Read(ref _kernelWriteMicroseconds) / 1e6;

    public void OnAcquired(int count = 1) => Interlocked.Add(ref _acquired, count);

    public void OnReleased(int count = 1) => Interlocked.Add(ref _released, count);

    public void OnGranted() => Interlocked.Increment(ref _grants);

    public void OnRefused(PortReservationErrorKind kind) => Interlocked.Increment(ref _refusals[(int)kind]);

    public void OnKernelWrite(TimeSpan duration)
    {
        Interlocked.Increment(ref _kernelWrites);
        Interlocked.Add(ref _kernelWriteMicroseconds, (long)duration.TotalMicroseconds);
        _kernelWriteDuration.Record(duration.TotalSeconds);
    }

    public IEnumerable<(string Kind, long Count)> RefusalsByKind()
        => Enum.GetValues<PortReservationErrorKind>().Select(k => (k.ToString(), Interlocked.Read(ref _refusals[(int)k])));

    public void Dispose() => _meter.Dispose();
}
