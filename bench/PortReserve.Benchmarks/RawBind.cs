using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PortReserve.Benchmarks;

/// <summary>
/// socket, bind to 127.0.0.1:PORT, close, straight through libc: what a bind costs in the kernel (the hook included),
/// with no .NET exception for a refused one, so that a refused bind and an allowed one are timed alike.
/// </summary>
internal static partial class RawBind
{
    private const int AfInet = 2;
    private const int SockStream = 1;

    /// <summary>Binds and closes; returns 0 or the errno (13 is EACCES).</summary>
    public static unsafe int Bind(int port)
    {
        int fd = Socket(AfInet, SockStream, 0);
        if (fd < 0)
        {
            throw new InvalidOperationException($"socket failed: errno {Marshal.GetLastPInvokeError()}");
        }

        // struct sockaddr_in: family, port (network order), address (network order), padding.
        byte* address = stackalloc byte[16];
        new Span<byte>(address, 16).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(address, 2), AfInet);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(address + 2, 2), (ushort)port);
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(address + 4, 4), 0x7f00_0001);
        int result = BindSocket(fd, address, 16) == 0 ? 0 : Marshal.GetLastPInvokeError();
        _ = Close(fd);
        return result;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static unsafe partial int BindSocket(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
