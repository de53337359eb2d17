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

    /// <summary>
    /// True once the pidfd's process has exited, zombie or reaped: the pidfd is readable. A zombie still holds its pid
    /// (<see cref="PidfdIsAlive"/>) but speaks for nobody.
    /// </summary>
    public static unsafe bool PidfdHasExited(SafeFileHandle pidfd)
    {
        bool added = false;
        try
        {
            pidfd.DangerousAddRef(ref added);
            long descriptor = pidfd.DangerousGetHandle();
            byte* pollfd = stackalloc byte[8];
            *(int*)pollfd = (int)descriptor;
            *(short*)(pollfd + 4) = POLLIN;
            *(short*)(pollfd + 6) = 0;
            return Poll(pollfd, 1, 0) == 1 && (*(short*)(pollfd + 6) & POLLIN) != 0;
        }
        finally
        {
            if (added)
            {
                pidfd.DangerousRelease();
            }
        }
    }

    private const short POLLIN = 1;

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(byte* fds, nuint count, int timeout);

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    private static partial int PidfdSendSignal(SafeFileHandle pidfd, int signal, nint info, uint flags);

    public const int SIGHUP = 1;

    /// <summary>Sets a signal's disposition to a plain handler value (0 is SIG_DFL); returns the previous one.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    public static partial nint Signal(int signal, nint handler);
}
