using System.Net.Sockets;
using PortReserve.Interop;

namespace PortReserve.Client;

/// <summary>
/// send(2) with MSG_DONTWAIT on a blocking socket. The runtime's own asynchronous send would switch the socket to
/// non-blocking for good, and its synchronous receive would then wait through the runtime's socket thread instead of
/// in recv(2), which is what the reader relies on.
/// </summary>
internal static class SocketSend
{
    /// <summary>Sends <paramref name="message"/> whole; false when the peer's queue is full; a SocketException on any other failure.</summary>
    public static bool TrySend(Socket socket, ReadOnlySpan<byte> message) => Libc.SendNoWait(socket.SafeHandle, message) switch
    {
        0 => true,
        Libc.EAGAIN => false,
        int errno => throw new SocketException(ToSocketError(errno)),
    };

    private static int ToSocketError(int errno) => (int)(errno switch
    {
        Libc.EPIPE => SocketError.Shutdown,
        Libc.ECONNRESET => SocketError.ConnectionReset,
        Libc.ENOTCONN => SocketError.NotConnected,
        Libc.EBADF => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    });
}
