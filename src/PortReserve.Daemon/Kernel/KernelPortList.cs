using System.Globalization;
using System.Text;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>The text form of <c>ip_local_reserved_ports</c>: comma-separated ports and <c>lo-hi</c> ranges.</summary>
internal static class KernelPortList
{
    /// <summary>The kernel consumes at most a page (less one byte) per write; chunks stay below it, split between entries.</summary>
    public const int MaxChunkBytes = 4000;

    public static PortSet Parse(string text)
    {
        var ports = new PortSet();
        foreach (string entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = entry.IndexOf('-', StringComparison.Ordinal);
            int start = ParsePort(dash < 0 ? entry : entry[..dash], text);
            int end = dash < 0 ? start : ParsePort(entry[(dash + 1)..], text);
            if (end < start)
            {
                throw new FormatException($"reserved port list entry '{entry}' has its bounds reversed");
            }

            ports.Add(PortRange.FromBounds(start, end));
        }

        return ports;
    }

    public static string Format(PortSet ports) => string.Join(',', ports.Ranges());

    /// <summary>The list as UTF-8 chunks of at most <see cref="MaxChunkBytes"/>, each ending on an entry boundary.</summary>
    public static List<byte[]> FormatChunks(PortSet ports)
    {
        var chunks = new List<byte[]>();
        var current = new StringBuilder();
        foreach (PortRange range in ports.Ranges())
        {
            string entry = range.ToString();
            if (current.Length > 0 && current.Length + 1 + entry.Length > MaxChunkBytes)
            {
                chunks.Add(Encoding.ASCII.GetBytes(current.ToString()));
                current.Clear();
            }

            current.Append(current.Length > 0 ? "," : string.Empty).Append(entry);
        }

        chunks.Add(Encoding.ASCII.GetBytes(current.Append('\n').ToString()));
        return chunks;
    }

    private static int ParsePort(string value, string text)
    {
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= PortRange.MaxPort
            ? port
            : throw new FormatException($"reserved port list '{Truncate(text)}' has an entry that is not a port: '{value}'");
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
