using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>send(2) on a socket descriptor, with the flags the callers pass.</summary>
internal static partial class Libc
{
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;

    /// <summary>The bytes sent (a SEQPACKET message goes whole or not at all), or -1 with errno.</summary>
    public static unsafe nint Send(SafeHandle socket, ReadOnlySpan<byte> message, int flags)
    {
        fixed (byte* pointer = message)
        {
            return Send(socket, pointer, (nuint)message.Length, flags);
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> without waiting and without SIGPIPE, retrying an interrupted call: 0 once it is
    /// sent, EAGAIN when the peer's queue has no room for it now, or the errno of the failure.
    /// </summary>
    public static int SendNoWait(SafeHandle socket, ReadOnlySpan<byte> message)
    {
        while (Send(socket, message, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                return errno;
            }
        }

        return 0;
    }

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint Send(SafeHandle socket, byte* buffer, nuint length, int flags);
}
