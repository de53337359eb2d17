using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>recv(2) on a socket descriptor.</summary>
internal static partial class Libc
{
    /// <summary>The message's length, 0 at end of stream, or -1 with errno.</summary>
    public static unsafe nint Receive(SafeHandle socket, Span<byte> buffer, int flags)
    {
        fixed (byte* pointer = buffer)
        {
            return Receive(socket, pointer, (nuint)buffer.Length, flags);
        }
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Receive(SafeHandle socket, byte* buffer, nuint length, int flags);
}
