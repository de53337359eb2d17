using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

internal static partial class Libc
{
    public const int ESRCH = 3;
    public const int EINTR = 4;
    /// <summary>A descriptor that becomes readable when the process exits; pid reuse cannot fool it.</summary>
    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    public static partial SafeFileHandle PidfdOpen(int pid, uint flags);

    /// <summary>
    /// True while the pidfd's process holds its pid: alive, or exited but not yet reaped. Once false, the pid may belong
    /// to someone else.
    /// </summary>
    public static bool PidfdIsAlive(SafeFileHandle pidfd) => PidfdSendSignal(pidfd, 0, 0, 0) == 0;

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    private static partial int PidfdSendSignal(SafeFileHandle pidfd, int signal, nint info, uint flags);

    public const int SIGHUP = 1;

    /// <summary>Sets a signal's disposition to a plain handler value (0 is SIG_DFL); returns the previous one.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    public static partial nint Signal(int signal, nint handler);
}
