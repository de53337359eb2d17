using System.Net.Sockets;

namespace PortReserve.Client;

/// <summary>
/// A connection's SOCK_SEQPACKET socket as requests go out on it: each frame whole, or not at all. The socket stays
/// blocking for the <see cref="ReplyReader"/>, and no asynchronous call is ever made on it (that would make it
/// non-blocking for good), so sends say MSG_DONTWAIT (<see cref="SocketSend"/>).
/// </summary>
internal sealed class FrameSocket(Socket socket)
{
    /// <summary>The longest pause between tries while the daemon's queue for this connection stays full.</summary>
    private const int MaxPauseMilliseconds = 50;

    public Socket Socket => socket;

    /// <summary>
    /// Sends <paramref name="frame"/>. The daemon's queue for this connection is full only when it is far behind (or
    /// stopped): then it tries again after a pause that doubles up to <see cref="MaxPauseMilliseconds"/>, for as long as
    /// the caller waits and until <paramref name="giveUpAfter"/> (null: for ever), when it throws what
    /// <paramref name="notAnswering"/> makes. A broken connection throws <see cref="SocketException"/>.
    /// </summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, TimeSpan? giveUpAfter, Func<Exception> notAnswering, CancellationToken cancellationToken)
    {
        long started = Environment.TickCount64;
        for (int pause = 1; !SocketSend.TrySend(socket, frame.Span); pause = Math.Min(pause * 2, MaxPauseMilliseconds))
        {
            if (giveUpAfter is { } limit && Environment.TickCount64 - started > limit.TotalMilliseconds)
            {
                throw notAnswering();
            }

            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends both directions: the reader sees the end of the stream.</summary>
    public void Shutdown()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose() => socket.Dispose();
}
