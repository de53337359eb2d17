using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>
/// What a pidfd tells of its process: who it is for good (its pidfs inode, never given to another process this boot),
/// and its real ids now (PIDFD_GET_INFO, Linux 6.13), read on the process itself, not by a pid that may come back.
/// </summary>
internal static partial class Libc
{
    private const int SoPeerPidfd = 77;
    private const int SoCookie = 57;
    private const long PidfsMagic = 0x50494446;
    private const ulong PidfdInfoCreds = 0x2;
    private const int PidfdInfoSize = 72;
    private const nuint PidfdGetInfo = 0xC048FF0B; // _IOWR(0xFF, 11, struct pidfd_info) with the 72-byte struct

    /// <summary>A pidfd of the process at the other end of a Unix socket, as it connected (SO_PEERPIDFD, Linux 6.5); null where unsupported.</summary>
    public static unsafe SafeFileHandle? PeerPidfd(SafeHandle socket)
    {
        int fd = -1;
        int length = sizeof(int);
        return GetSockOpt(socket, SOL_SOCKET, SoPeerPidfd, &fd, &length) == 0 && fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    /// <summary>A socket's cookie (SO_COOKIE): unique for this boot, never reused, and what the bind hook reads of it.</summary>
    public static unsafe ulong SocketCookie(SafeHandle socket)
    {
        ulong cookie = 0;
        int length = sizeof(ulong);
        return GetSockOpt(socket, SOL_SOCKET, SoCookie, &cookie, &length) == 0 ? cookie : 0;
    }

    /// <summary>The pidfs inode of a pidfd: the same for every pidfd of one process, and never another's. Null without pidfs (before Linux 6.9).</summary>
    public static unsafe ulong? PidfsInode(SafeFileHandle pidfd)
    {
        byte* statfs = stackalloc byte[120];
        if (FStatFs(pidfd, statfs) != 0 || *(long*)statfs != PidfsMagic)
        {
            return null;
        }

        byte* status = stackalloc byte[256];
        return Statx((int)pidfd.DangerousGetHandle(), string.Empty, AtEmptyPath, StatxIno, status) == 0 ? *(ulong*)(status + StatxInoOffset) : null;
    }

    /// <summary>The process's real uid and gid now; null when it has been reaped or the kernel cannot tell (before Linux 6.13).</summary>
    public static unsafe (uint Uid, uint Gid)? RealIds(SafeFileHandle pidfd)
    {
        byte* info = stackalloc byte[PidfdInfoSize];
        new Span<byte>(info, PidfdInfoSize).Clear();
        *(ulong*)info = PidfdInfoCreds;
        if (IoCtl(pidfd, PidfdGetInfo, info) != 0 || (*(ulong*)info & PidfdInfoCreds) == 0)
        {
            return null;
        }

        // struct pidfd_info: mask, cgroupid, then pid, tgid, ppid, ruid, rgid (u32 each) from offset 16.
        return (*(uint*)(info + 28), *(uint*)(info + 32));
    }

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(SafeHandle socket, int level, int name, void* value, int* length);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int FStatFs(SafeFileHandle file, byte* buffer);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int IoCtl(SafeFileHandle file, nuint request, byte* argument);
}
