using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>
    /// True while the pidfd's process holds its pid: alive, or exited but not yet reaped. Once false, the pid may belong
    /// to someone else.
    /// </summary>
    public static bool PidfdIsAlive(SafeFileHandle pidfd) => PidfdSendSignal(pidfd, 0, 0, 0) == 0;

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    private static partial int PidfdSendSignal(SafeFileHandle pidfd, int signal, nint info, uint flags);
}
