using System.Text;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Remembers, in the state directory, which entries of the kernel list the daemon wrote, so that after a crash it
/// can remove its own leftovers without touching system exclusions. The kernel list lives as long as the boot and
/// the network namespace, so the record is tagged with both and ignored when either differs.
/// </summary>
/// <remarks>
/// The file is a fixed header and a 65,536-bit map, updated in place by one pwrite per change (no temp file and rename
/// on the acquire path). The record only has to stay a superset of the daemon's entries in the kernel, and it is
/// written before the kernel list: a pwrite cut short by kill -9 leaves every bit at its old or its new value, and both
/// cover what the kernel holds from the daemon at that moment.
/// </remarks>
internal sealed class OwnedPortsRecord(string path) : IDisposable
{
    private const int HeaderSize = 256;
    private readonly string _identity = CurrentIdentity();
    private readonly byte[] _bitmap = new byte[PortSet.ByteCount];
    private readonly byte[] _next = new byte[PortSet.ByteCount];
    private SafeFileHandle? _handle;

    public string FilePath { get; } = path;

    /// <summary>The ports recorded for this boot and namespace, or an empty set when the record is absent or stale.</summary>
    public PortSet Load()
    {
        SafeFileHandle file;
        try
        {
            file = Interop.Libc.OpenNoFollow(FilePath, Interop.Libc.O_RDONLY);
        }
        catch (FileNotFoundException)
        {
            return new PortSet();
        }

        using (file)
        {
            byte[] content = new byte[HeaderSize + PortSet.ByteCount];
            int length = RandomAccess.Read(file, content, 0);
            return length == content.Length && RandomAccess.GetLength(file) == content.Length && Header().AsSpan().SequenceEqual(content.AsSpan(0, HeaderSize))
                ? PortSet.FromBytes(content.AsSpan(HeaderSize))
                : new PortSet();
        }
    }

    /// <summary>Records <paramref name="ports"/> as the daemon's; the first call starts a new record for this boot and namespace.</summary>
    public void Save(PortSet ports)
    {
        if (_handle is null)
        {
            _handle = Interop.Libc.OpenNoFollow(FilePath, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT);
            RandomAccess.SetLength(_handle, HeaderSize + PortSet.ByteCount);
            ports.CopyTo(_bitmap);
            RandomAccess.Write(_handle, _bitmap, HeaderSize);
            RandomAccess.Write(_handle, Header(), 0);
            return;
        }

        // Only the bytes that changed (usually a word or two) go to the file.
        ports.CopyTo(_next);
        int first = _next.AsSpan().CommonPrefixLength(_bitmap);
        if (first == _next.Length)
        {
            return;
        }

        int last = _next.Length - 1;
        while (_next[last] == _bitmap[last])
        {
            last--;
        }

        RandomAccess.Write(_handle, _next.AsSpan(first, last - first + 1), HeaderSize + first);
        _next.AsSpan(first, last - first + 1).CopyTo(_bitmap.AsSpan(first));
    }

    public void Dispose() => _handle?.Dispose();

    private byte[] Header()
    {
        byte[] header = new byte[HeaderSize];
        Encoding.ASCII.GetBytes("portreserved owned-ports v1\n" + _identity + "\n", header);
        return header;
    }

    private static string CurrentIdentity()
    {
        string bootId = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown-boot";
        string? netns = new FileInfo("/proc/self/ns/net").LinkTarget;
        return $"boot {bootId} {netns ?? "unknown-netns"}";
    }
}
