using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PortReserve.Client;

/// <summary>
/// send(2) with MSG_DONTWAIT on a blocking socket. The runtime's own asynchronous send would switch the socket to
/// non-blocking for good, and its synchronous receive would then wait through the runtime's socket thread instead of
/// in recv(2), which is what the reader relies on.
/// </summary>
internal static partial class SocketSend
{
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int EAgain = 11;
    private const int EIntr = 4;

    /// <summary>Sends <paramref name="message"/> whole; false when the peer's queue is full; a SocketException on any other failure.</summary>
    public static bool TrySend(Socket socket, ReadOnlySpan<byte> message)
    {
        while (true)
        {
            nint sent = Send(socket.SafeHandle, message, message.Length, MsgDontWait | MsgNoSignal);
            if (sent >= 0)
            {
                return true;
            }

            int error = Marshal.GetLastPInvokeError();
            if (error == EAgain)
            {
                return false;
            }

            if (error != EIntr)
            {
                throw new SocketException(ToSocketError(error));
            }
        }
    }

    private static int ToSocketError(int errno) => (int)(errno switch
    {
        32 => SocketError.Shutdown, // EPIPE
        104 => SocketError.ConnectionReset, // ECONNRESET
        107 => SocketError.NotConnected, // ENOTCONN
        9 => SocketError.OperationAborted, // EBADF
        _ => SocketError.SocketError,
    });

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(SafeSocketHandle socket, ReadOnlySpan<byte> buffer, nint length, int flags);
}
