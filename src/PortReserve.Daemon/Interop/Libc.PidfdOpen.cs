using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>pidfd_open(2), and who a pidfd's process is for good: its pidfs inode, never given to another process this boot.</summary>
internal static partial class Libc
{
    /// <summary>A descriptor that becomes readable when the process exits; pid reuse cannot fool it.</summary>
    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial SafeFileHandle PidfdOpen(int pid, uint flags);

    /// <summary>The pidfs inode of a pidfd: the same for every pidfd of one process, and never another's. Null without pidfs (before Linux 6.9).</summary>
    public static ulong? PidfsInode(SafeFileHandle pidfd)
        => FileSystemType(pidfd) == PIDFS_MAGIC && TryStatOf(pidfd, STATX_INO, out FileStatus status) ? status.Inode : null;
}
