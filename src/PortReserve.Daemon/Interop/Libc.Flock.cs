using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;

    /// <summary>Takes an exclusive flock without waiting; false when another process holds one.</summary>
    public static bool TryLockExclusive(SafeFileHandle file)
    {
        if (Flock(file, LOCK_EX | LOCK_NB) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == EAGAIN ? false : throw new IOException($"cannot lock: {Describe(errno)}");
    }

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle file, int operation);
}
