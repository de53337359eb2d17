using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Processes;

/// <summary>
/// A process's identity for as long as the machine runs: the pidfs inode of a pidfd of it (Linux 6.9), the same for
/// every pidfd of that process and never another's, however its pid is reused. Where the kernel has no pidfs, each
/// pidfd gets an identity of its own, so that two connections of one process are two processes: nothing is ever
/// shared by mistake, only release from another connection is refused.
/// </summary>
internal static class ProcessIdentity
{
    private static long s_unshared;

    public static ulong Of(SafeFileHandle? pidfd)
        => (pidfd is null ? null : Interop.Libc.PidfsInode(pidfd)) ?? ((1UL << 63) | (ulong)Interlocked.Increment(ref s_unshared));
}
