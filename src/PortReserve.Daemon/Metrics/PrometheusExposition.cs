using System.Globalization;
using System.Text;

namespace PortReserve.Daemon.Metrics;

/// <summary>The metrics in the Prometheus text exposition format (version 0.0.4).</summary>
internal static class PrometheusExposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(DaemonMetrics metrics)
    {
        var text = new StringBuilder();
        Family(text, "portreserve_reservations", "gauge", "Live reservations by kind and protocol.");
        foreach (ReservationCount count in metrics.Reservations())
        {
            Sample(text, "portreserve_reservations", count.Count, ("kind", count.Kind), ("protocol", count.Protocol));
        }

        Single(text, "portreserve_connections", "gauge", "Open client connections.", metrics.Connections);
        Single(text, "portreserve_reservations_acquired_total", "counter", "Runtime reservations acquired and persistent ones created.", metrics.Counters.Acquired);
        Single(text, "portreserve_reservations_released_total", "counter", "Reservations released, deleted, or dropped with their connection or process.", metrics.Counters.Released);
        Single(text, "portreserve_portserver_grants_total", "counter", "Ports granted through the portserver endpoint.", metrics.Counters.Grants);
        Family(text, "portreserve_refusals_total", "counter", "Requests refused, by error kind.");
        foreach ((string kind, long count) in metrics.Counters.RefusalsByKind())
        {
            Sample(text, "portreserve_refusals_total", count, ("kind", kind));
        }

        Family(text, "portreserve_binds_refused_total", "counter", "Binds to reserved ports the bind hook refused, by protocol (it reports at most 100 a second for each uid; a flood beyond that is refused uncounted).");
        foreach ((string protocol, long count) in metrics.Counters.RefusedBindsByProtocol())
        {
            Sample(text, "portreserve_binds_refused_total", count, ("protocol", protocol));
        }

        Family(text, "portreserve_kernel_write_seconds", "summary", "Kernel writes, one per commit (ip_local_reserved_ports, and the bind hook's maps when exclusive binds are on), and the time they took.");
        Sample(text, "portreserve_kernel_write_seconds_sum", metrics.Counters.KernelWriteSeconds);
        Sample(text, "portreserve_kernel_write_seconds_count", metrics.Counters.KernelWrites);
        return text.ToString();
    }

    private static void Single(StringBuilder text, string name, string type, string help, double value)
    {
        Family(text, name, type, help);
        Sample(text, name, value);
    }

    private static void Family(StringBuilder text, string name, string type, string help)
        => text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, double value, params (string Name, string Value)[] labels)
    {
        text.Append(name);
        if (labels.Length > 0)
        {
            text.Append('{').AppendJoin(',', labels.Select(l => $"{l.Name}=\"{l.Value}\"")).Append('}');
        }

        text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
