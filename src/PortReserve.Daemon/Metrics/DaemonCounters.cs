using System.Diagnostics.Metrics;

namespace PortReserve.Daemon.Metrics;

/// <summary>
/// The daemon's event counts: what was acquired, released, granted and refused, and the kernel writes. Every component
/// that makes such an event counts it here. They are published on the <see cref="Meter"/> named <see cref="MeterName"/>
/// (readable with <c>dotnet-counters monitor --counters PortReserve.Daemon</c>), which <see cref="DaemonMetrics"/> adds
/// the gauges to, and rendered as Prometheus text by <see cref="PrometheusExposition"/>: both views report the same numbers.
/// </summary>
internal sealed class DaemonCounters : IDisposable
{
    public const string MeterName = "PortReserve.Daemon";

    private readonly long[] _refusals = new long[(int)PortReservationErrorKind.Aborted + 1];
    private readonly Histogram<double> _kernelWriteDuration;
    private long _acquired;
    private long _released;
    private long _grants;
    private long _refusedTcpBinds;
    private long _refusedUdpBinds;
    private long _kernelWrites;
    private long _kernelWriteMicroseconds;

    public DaemonCounters(string version)
    {
        Meter = new Meter(MeterName, version);
        Meter.CreateObservableCounter("portreserve.reservations.acquired", () => Acquired, description: "Runtime reservations acquired and persistent ones created");
        Meter.CreateObservableCounter("portreserve.reservations.released", () => Released, description: "Reservations released, deleted, or dropped with their connection or process");
        Meter.CreateObservableCounter("portreserve.portserver.grants", () => Grants, description: "Ports granted through the portserver endpoint");
        Meter.CreateObservableCounter("portreserve.refusals", () => RefusalsByKind().Select(r => new Measurement<long>(r.Count, new KeyValuePair<string, object?>("kind", r.Kind))), description: "Requests refused, by error kind");
        Meter.CreateObservableCounter("portreserve.binds.refused", () => RefusedBindsByProtocol().Select(r => new Measurement<long>(r.Count, new KeyValuePair<string, object?>("protocol", r.Protocol))), description: "Binds to reserved ports the bind hook refused, by protocol");
        Meter.CreateObservableCounter("portreserve.kernel.writes", () => KernelWrites, description: "Kernel writes, one per commit: ip_local_reserved_ports, and the bind hook's maps when exclusive binds are on");
        _kernelWriteDuration = Meter.CreateHistogram<double>("portreserve.kernel.write.duration", unit: "s", description: "Time a commit took to write the kernel (reserved port list and bind hook maps)");
    }

    public Meter Meter { get; }

    public long Acquired => Interlocked.Read(ref _acquired);

    public long Released => Interlocked.Read(ref _released);

    public long Grants => Interlocked.Read(ref _grants);

    public long KernelWrites => Interlocked.Read(ref _kernelWrites);

    public double KernelWriteSeconds => Interlocked.Read(ref _kernelWriteMicroseconds) / 1e6;

    public void OnAcquired(int count = 1) => Interlocked.Add(ref _acquired, count);

    public void OnReleased(int count = 1) => Interlocked.Add(ref _released, count);

    public void OnGranted() => Interlocked.Increment(ref _grants);

    public void OnRefused(PortReservationErrorKind kind) => Interlocked.Increment(ref _refusals[(int)kind]);

    public void OnBindRefused(PortReservationProtocol protocol) => Interlocked.Increment(ref protocol == PortReservationProtocol.Tcp ? ref _refusedTcpBinds : ref _refusedUdpBinds);

    public void OnKernelWrite(TimeSpan duration)
    {
        Interlocked.Increment(ref _kernelWrites);
        Interlocked.Add(ref _kernelWriteMicroseconds, (long)duration.TotalMicroseconds);
        _kernelWriteDuration.Record(duration.TotalSeconds);
    }

    public IEnumerable<(string Kind, long Count)> RefusalsByKind()
        => Enum.GetValues<PortReservationErrorKind>().Select(k => (k.ToString(), Interlocked.Read(ref _refusals[(int)k])));

    public IEnumerable<(string Protocol, long Count)> RefusedBindsByProtocol()
        => [("tcp", Interlocked.Read(ref _refusedTcpBinds)), ("udp", Interlocked.Read(ref _refusedUdpBinds))];

    public void Dispose() => Meter.Dispose();
}
