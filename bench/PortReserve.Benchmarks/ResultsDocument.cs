using System.Runtime.InteropServices;
using System.Text;

namespace PortReserve.Benchmarks;

/// <summary>bench/results.md: the machine, the conditions, and the table.</summary>
internal static class ResultsDocument
{
    public static string Render(IReadOnlyList<ResultRow> rows, bool quick)
    {
        var text = new StringBuilder();
        text.AppendLine("# PortReserve benchmarks").AppendLine();
        text.AppendLine($"Written by `./bench.sh` on {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC{(quick ? " (--quick: reduced counts, not for comparison)" : string.Empty)}.").AppendLine();
        text.AppendLine("Machine: " + Machine()).AppendLine();
        text.AppendLine("Conditions: every row measured in one run, inside a private network namespace, against one `portreserved` with kernel sync on ");
        text.AppendLine("(every acquire and release waits for its `ip_local_reserved_ports` write) and `--log-level Warning`; clients use the `PortReserve` library.");
        text.AppendLine("A row with a floor or a peer is measured in rounds alternating with it (which goes first alternates too); its ratio is the");
        text.AppendLine("median of the per-round ratios, with their range and the number of rounds. Percentiles are per operation.").AppendLine();
        text.AppendLine("| row | measured | compared with | ratio | target | verdict | notes |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (ResultRow row in rows)
        {
            text.AppendLine($"| {row.Row} | {row.Measured} | {row.ComparedWith} | {row.Ratio} | {row.Target} | {row.Verdict} | {row.Notes} |");
        }

        return text.ToString();
    }

    private static string Machine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        string memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(':', 2)[1].Trim();
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"{Environment.ProcessorCount} × {cpu}, {memory} memory, Linux {kernel}, {RuntimeInformation.FrameworkDescription}";
    }
}
