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
        var ports = new PortSet();
        ReadInto(handle, ref buffer, ports);
        return ports;
    }

    /// <summary>As <see cref="Read"/>, into <paramref name="ports"/> (cleared first): the commit path allocates nothing.</summary>
    public static void ReadInto(SafeFileHandle handle, ref byte[] buffer, PortSet ports)
    {
        while (true)
        {
            int length = RandomAccess.Read(handle, buffer, 0);
            if (length < buffer.Length)
            {
                ParseInto(buffer.AsSpan(0, length), ports);
                return;
            }

            buffer = new byte[buffer.Length * 4];
        }
    }

    /// <summary>Parses the list as the kernel prints it (or an administrator writes it); anything else is a FormatException.</summary>
    public static PortSet Parse(ReadOnlySpan<byte> text)
    {
        var ports = new PortSet();
        ParseInto(text, ports);
        return ports;
    }

    private static void ParseInto(ReadOnlySpan<byte> text, PortSet ports)
    {
        ports.Clear();
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
    }

    public static string Format(PortSet ports) => string.Join(',', ports.Ranges());

    /// <summary>
    /// Formats the list into <paramref name="buffer"/> (grown as needed) as chunks of at most <see cref="MaxChunkBytes"/>,
    /// each ending on an entry boundary, written back to back at successive offsets: <paramref name="chunkEnds"/> receives
    /// where each chunk ends. No text is allocated on the way, since every kernel commit formats the whole list.
    /// </summary>
    public static void FormatChunks(PortSet ports, ref byte[] buffer, List<int> chunkEnds)
    {
        chunkEnds.Clear();
        Span<byte> entry = stackalloc byte[2 * 5 + 1];
        int length = 0;
        int chunkStart = 0;
        foreach (PortRange range in ports.Ranges())
        {
            int entryLength = FormatEntry(range, entry);
            if (length > chunkStart && length - chunkStart + 1 + entryLength > MaxChunkBytes)
            {
                chunkEnds.Add(length);
                chunkStart = length;
            }

            EnsureRoom(ref buffer, length + 1 + entryLength + 1);
            if (length > chunkStart)
            {
                buffer[length++] = (byte)',';
            }

            entry[..entryLength].CopyTo(buffer.AsSpan(length));
            length += entryLength;
        }

        EnsureRoom(ref buffer, length + 1);
        buffer[length++] = (byte)'\n';
        chunkEnds.Add(length);
    }

    private static int FormatEntry(PortRange range, Span<byte> destination)
    {
        range.Start.TryFormat(destination, out int written, provider: CultureInfo.InvariantCulture);
        if (range.Count > 1)
        {
            destination[written++] = (byte)'-';
            range.End.TryFormat(destination[written..], out int more, provider: CultureInfo.InvariantCulture);
            written += more;
        }

        return written;
    }

    private static void EnsureRoom(ref byte[] buffer, int needed)
    {
        if (buffer.Length < needed)
        {
            Array.Resize(ref buffer, Math.Max(needed, buffer.Length * 2));
        }
    }

    private static int ParsePort(ReadOnlySpan<byte> value, ReadOnlySpan<byte> entry)
    {
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= PortRange.MaxPort
            ? port
            : throw new FormatException($"reserved port list entry '{Encoding.ASCII.GetString(entry[..Math.Min(entry.Length, 40)])}' is not a port or a lo-hi range");
    }
}
