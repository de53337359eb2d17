using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>poll(2) on one descriptor, without waiting.</summary>
internal static partial class Libc
{
    private const short POLLIN = 1;

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
            // struct pollfd: int fd, short events, short revents.
            byte* pollfd = stackalloc byte[8];
            *(int*)pollfd = (int)pidfd.DangerousGetHandle();
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

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(byte* fds, nuint count, int timeout);
}
