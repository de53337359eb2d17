using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>Whether a pidfd's process has exited, without waiting.</summary>
internal static partial class Libc
{
    /// <summary>
    /// True once the pidfd's process has exited, zombie or reaped: the pidfd is readable. A zombie still holds its pid
    /// (<see cref="PidfdIsAlive"/>) but speaks for nobody.
    /// </summary>
    public static bool PidfdHasExited(SafeFileHandle pidfd) => Poll(pidfd, POLLIN, 0) is > 0 and var events && (events & POLLIN) != 0;
}
