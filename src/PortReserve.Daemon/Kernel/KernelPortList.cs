using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>The text form of <c>ip_local_reserved_ports</c>: comma-separated ports and <c>lo-hi</c> ranges.</summary>
internal static class KernelPortList
{
    /// <summary>The kernel consumes at most a page (less one byte) per write; chunks stay below it, split between entries.</summary>
    public const int MaxChunkBytes = 4000;

    public static PortSet Parse(string text) => Parse(Encoding.ASCII.GetBytes(text));

    /// <summary>
    /// Reads and parses the whole list through <paramref name="handle"/> (pread at offset 0 regenerates it), growing
    /// <paramref name="buffer"/> until the list fits: the kernel hands the whole list to the first read and answers a read
    /// at a later offset with nothing, so one read must take it all.
    /// </summary>
    public static PortSet Read(SafeFileHandle handle, ref byte[] buffer)
    {
        while (true)
        {
            int length = RandomAccess.Read(handle, buffer, 0);
            if (length < buffer.Length)
            {
                return Parse(buffer.AsSpan(0, length));
            }

            buffer = new byte[buffer.Length * 4];
        }
    }

    /// <summary>Parses the list as the kernel prints it (or an administrator writes it); anything else is a FormatException.</summary>
    public static PortSet Parse(ReadOnlySpan<byte> text)
    {
        var ports = new PortSet();
        while (!text.IsEmpty)
        {
            int comma = text.IndexOf((byte)',');
            ReadOnlySpan<byte> entry = (comma < 0 ? text : text[..comma]).Trim(" \t\r\n"u8);
            text = comma < 0 ? default : text[(comma + 1)..];
            if (entry.IsEmpty)
            {
                continue;
            }

            int dash = entry.IndexOf((byte)'-');
            int start = ParsePort(dash < 0 ? entry : entry[..dash], entry);
            int end = dash < 0 ? start : ParsePort(entry[(dash + 1)..], entry);
            if (end < start)
            {
                throw new FormatException($"reserved port list entry '{Encoding.ASCII.GetString(entry)}' has its bounds reversed");
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

    private static int ParsePort(ReadOnlySpan<byte> value, ReadOnlySpan<byte> entry)
    {
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= PortRange.MaxPort
            ? port
            : throw new FormatException($"reserved port list entry '{Encoding.ASCII.GetString(entry[..Math.Min(entry.Length, 40)])}' is not a port or a lo-hi range");
    }
}
