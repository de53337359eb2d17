using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>The few libc calls the daemon makes directly, where the managed Socket API would cost an exception per answer.</summary>
internal static partial class Libc
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int EADDRINUSE = 98;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int StatxType = 1;
    private const int FileTypeMask = 0xF000;
    private const int SocketFileType = 0xC000;

    /// <summary>True when <paramref name="path"/> itself (not a link target) is a socket. statx has one layout on every architecture.</summary>
    public static unsafe bool IsSocket(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            return false;
        }

        ushort mode = *(ushort*)(buffer + 28);
        return (mode & FileTypeMask) == SocketFileType;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial SafeFileHandle Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static unsafe partial int SetSockOpt(SafeFileHandle socket, int level, int name, int* value, int length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static unsafe partial int Bind(SafeFileHandle socket, byte* address, int length);
}
