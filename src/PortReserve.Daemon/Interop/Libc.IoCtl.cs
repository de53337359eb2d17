using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>ioctl(2), for PIDFD_GET_INFO (Linux 6.13): a process's real ids, read on the process itself, not by a pid that may come back.</summary>
internal static partial class Libc
{
    private const ulong PIDFD_INFO_CREDS = 0x2;
    private const int PidfdInfoSize = 72;
    private const nuint PIDFD_GET_INFO = 0xC048FF0B; // _IOWR(0xFF, 11, struct pidfd_info) with the 72-byte struct

    /// <summary>The process's real uid and gid now; null when it has been reaped or the kernel cannot tell (before Linux 6.13).</summary>
    public static unsafe (uint Uid, uint Gid)? RealIds(SafeFileHandle pidfd)
    {
        byte* info = stackalloc byte[PidfdInfoSize];
        new Span<byte>(info, PidfdInfoSize).Clear();
        *(ulong*)info = PIDFD_INFO_CREDS;
        if (IoCtl(pidfd, PIDFD_GET_INFO, info) != 0 || (*(ulong*)info & PIDFD_INFO_CREDS) == 0)
        {
            return null;
        }

        // struct pidfd_info: mask, cgroupid, then pid, tgid, ppid, ruid, rgid (u32 each) from offset 16.
        return (*(uint*)(info + 28), *(uint*)(info + 32));
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int IoCtl(SafeFileHandle file, nuint request, byte* argument);
}
