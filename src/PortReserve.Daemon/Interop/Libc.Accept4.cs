using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Accepts a pending connection with <paramref name="flags"/> (SOCK_NONBLOCK, SOCK_CLOEXEC); -1 with errno EAGAIN when none is pending.</summary>
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static unsafe partial int Accept(SafeHandle listener, byte* address, int* addressLength, int flags);
}
