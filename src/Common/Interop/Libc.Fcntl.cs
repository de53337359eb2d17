using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>fcntl(2), for duplicating a descriptor to a chosen number.</summary>
internal static partial class Libc
{
    private const int F_DUPFD = 0;

    /// <summary>A duplicate of <paramref name="fd"/> at the lowest free descriptor at or above <paramref name="minimum"/>, without close-on-exec, so that a child inherits it.</summary>
    public static int DuplicateInheritable(nint fd, int minimum)
    {
        int duplicate = Fcntl((int)fd, F_DUPFD, minimum);
        return duplicate >= 0 ? duplicate : throw new IOException($"cannot duplicate a socket for the command: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
