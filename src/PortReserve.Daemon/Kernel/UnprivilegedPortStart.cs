using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The network namespace's <c>net.ipv4.ip_unprivileged_port_start</c>: the first port a process may bind without
/// <c>CAP_NET_BIND_SERVICE</c>. Read afresh at each use (one pread of a file kept open), since an administrator may change it.
/// </summary>
internal sealed class UnprivilegedPortStart : IDisposable
{
    public const string DefaultPath = "/proc/sys/net/ipv4/ip_unprivileged_port_start";

    /// <summary>The kernel's default, assumed when the setting cannot be read.</summary>
    private const int KernelDefault = 1024;

    private readonly SafeFileHandle? _handle;
    private readonly byte[] _buffer = new byte[16];
    private readonly Lock _reading = new();

    public UnprivilegedPortStart(string path = DefaultPath)
    {
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _handle = null;
        }
    }

    public int Read()
    {
        if (_handle is null)
        {
            return KernelDefault;
        }

        lock (_reading)
        {
            try
            {
                int length = RandomAccess.Read(_handle, _buffer, 0);
                return int.TryParse(_buffer.AsSpan(0, length).Trim("\n "u8), NumberStyles.None, CultureInfo.InvariantCulture, out int start) ? start : KernelDefault;
            }
            catch (IOException)
            {
                return KernelDefault;
            }
        }
    }

    public void Dispose() => _handle?.Dispose();
}
