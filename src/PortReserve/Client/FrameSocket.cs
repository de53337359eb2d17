using System.Net.Sockets;
using System.Runtime.InteropServices;
using PortReserve.Interop;

namespace PortReserve.Client;

/// <summary>
/// A connection's SOCK_SEQPACKET socket as requests go out on it: each frame whole, or not at all. The socket stays
/// blocking for the <see cref="ReplyReader"/>, and no asynchronous call is ever made on it (that would make it
/// non-blocking for good), so sends say MSG_DONTWAIT (<see cref="SocketSend"/>), and a send that finds the daemon's
/// queue full waits for room in poll(2) (<see cref="RoomAsync"/>).
/// </summary>
internal sealed class FrameSocket(Socket socket)
{
    /// <summary>The longest one timed wait may be (a timer's limit is about 49 days).</summary>
    private static readonly TimeSpan s_longestWait = TimeSpan.FromDays(1);

    private readonly Lock _gate = new();
    private Task? _room;

    public Socket Socket => socket;

    /// <summary>
    /// Sends <paramref name="frame"/>. The daemon's queue for this connection is full only when it is far behind (or
    /// stopped): then it waits for room, for as long as the caller waits and until <paramref name="giveUpAfter"/> (null:
    /// for ever), when it throws what <paramref name="notAnswering"/> makes. A broken connection throws
    /// <see cref="SocketException"/>.
    /// </summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, TimeSpan? giveUpAfter, Func<Exception> notAnswering, CancellationToken cancellationToken)
    {
        long started = Environment.TickCount64;
        while (!SocketSend.TrySend(socket, frame.Span))
        {
            TimeSpan wait = Timeout.InfiniteTimeSpan;
            if (giveUpAfter is { } limit)
            {
                TimeSpan left = limit - TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
                if (left <= TimeSpan.Zero)
                {
                    throw notAnswering();
                }

                // A limit longer than a timer takes is waited for in turns, the deadline checked after each.
                wait = left < s_longestWait ? left : s_longestWait;
            }

            try
            {
                await RoomAsync().WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The turn ended without room: the loop sends again, and gives up once the deadline has passed.
            }
        }
    }

    /// <summary>Ends both directions: the reader sees the end of the stream, and a wait for room ends.</summary>
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

    public void Dispose()
    {
        Shutdown();
        socket.Dispose();
    }

    /// <summary>
    /// Completes when the daemon's queue for this connection has room again, or the connection has ended (then the next
    /// send says how). One wait serves every sender that finds the queue full: a thread of its own blocks in poll(2) for
    /// POLLOUT, which the kernel signals as the daemon reads, so a send goes out as soon as it can without a timer, and no
    /// thread waits while the queue has room. A caller that stops waiting leaves it to end with the room or the connection.
    /// </summary>
    private Task RoomAsync()
    {
        lock (_gate)
        {
            if (_room is not { IsCompleted: false })
            {
                _room = Task.Factory.StartNew(WaitForRoom, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            return _room;
        }
    }

    private void WaitForRoom()
    {
        try
        {
            while (Libc.Poll(socket.SafeHandle, Libc.POLLOUT, -1) < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
            {
            }
        }
        catch (ObjectDisposedException)
        {
            // The socket is closed: the next send says so.
        }
    }
}
