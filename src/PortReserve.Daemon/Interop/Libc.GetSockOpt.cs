using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>getsockopt(2), for what a Unix socket tells of its peer and what a socket is known by.</summary>
internal static partial class Libc
{
    private const int SO_COOKIE = 57;
    private const int SO_PEERPIDFD = 77;

    /// <summary>A pidfd of the process at the other end of a Unix socket, as it connected (SO_PEERPIDFD, Linux 6.5); null where unsupported.</summary>
    public static unsafe SafeFileHandle? PeerPidfd(SafeHandle socket)
    {
        int fd = -1;
        int length = sizeof(int);
        return GetSockOpt(socket, SOL_SOCKET, SO_PEERPIDFD, &fd, &length) == 0 && fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    /// <summary>A socket's cookie (SO_COOKIE): unique for this boot, never reused, and what the bind hook reads of it.</summary>
    public static unsafe ulong SocketCookie(SafeHandle socket)
    {
        ulong cookie = 0;
        int length = sizeof(ulong);
        return GetSockOpt(socket, SOL_SOCKET, SO_COOKIE, &cookie, &length) == 0 ? cookie : 0;
    }

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(SafeHandle socket, int level, int name, void* value, int* length);
}
