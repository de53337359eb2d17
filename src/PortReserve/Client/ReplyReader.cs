using System.Diagnostics;
using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// Reads a connection's reply frames on a thread of its own, blocked in recv(2): the reply a lone caller waits for
/// wakes this thread and nothing else, and the caller continues on it, with no hop through the runtime's socket thread
/// and the thread pool (which costs more CPU than the request). Replies that find other callers waiting go to the
/// thread pool, so that no caller's code delays another's reply.
/// </summary>
/// <remarks>
/// <para>The hand-over invariant: exactly one thread is the socket's reader, or is about to be. While the reader runs
/// a caller's continuation inline (an episode), either the continuation returns within <see cref="Handover"/> and the
/// thread reads on, or the hand-over timer finds it kept longer and starts a new reader, and the old thread, when the
/// continuation returns, is the caller's and reads no more. One compare-exchange on the episode each decides which:
/// never both (two threads would read), never neither (replies would go unread, and a continuation that waits
/// synchronously for another request of this connection would deadlock).</para>
/// </remarks>
internal sealed class ReplyReader : IAsyncDisposable
{
    /// <summary>How long a caller's code may keep the reader thread before another thread takes over reading.</summary>
    public static readonly TimeSpan Handover = TimeSpan.FromMilliseconds(20);

    private readonly Socket _socket;
    private readonly PendingRequests _pending;
    private readonly Dispatcher _dispatch;
    private readonly Action<Exception?> _ended;
    private readonly byte[] _buffer = new byte[FrameHeader.MaxFrameSize + 1];
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer _handover;
    private int _inline;
    private int _episodes;
    private long _inlineSince;
    private int _handoverArmed;
    private volatile bool _done;

    /// <param name="socket">The connection's socket, blocking.</param>
    /// <param name="pending">Its waiting requests: while any waits, a reply completes on the thread pool.</param>
    /// <param name="dispatch">Routes one frame; returns the request whose reply is whole and its caller's, and the protocol broken, if it was.</param>
    /// <param name="ended">Called once, on the reader, when the stream ends, breaks, or breaks the protocol (null: a clean end).</param>
    public ReplyReader(Socket socket, PendingRequests pending, Dispatcher dispatch, Action<Exception?> ended)
    {
        _socket = socket;
        _pending = pending;
        _dispatch = dispatch;
        _ended = ended;
        _handover = new Timer(static state => ((ReplyReader)state!).CheckReader(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Routes one reply frame (see the constructor).</summary>
    public delegate ProtocolException? Dispatcher(ReadOnlySpan<byte> frame, out PendingRequest? ready);

    /// <summary>Completes once the reader has ended (after <see cref="Socket.Shutdown"/>, the stream's end).</summary>
    public Task Stopped => _stopped.Task;

    public void Start()
    {
        var reader = new Thread(static state => ((ReplyReader)state!).Read())
        {
            IsBackground = true,
            Name = "PortReserve reader",
        };
        reader.UnsafeStart(this);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopped.Task.ConfigureAwait(false);
        await _handover.DisposeAsync().ConfigureAwait(false);
    }

    private void Read()
    {
        while (true)
        {
            int received;
            try
            {
                received = _socket.Receive(_buffer, SocketFlags.None);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                End(e);
                return;
            }

            PendingRequest? ready = null;
            ProtocolException? violation = received switch
            {
                0 => null,
                > FrameHeader.MaxFrameSize => new ProtocolException($"portreserved sent a frame larger than {FrameHeader.MaxFrameSize} bytes"),
                _ => _dispatch(_buffer.AsSpan(0, received), out ready),
            };
            if (received == 0 || violation is not null)
            {
                End(violation);
                return;
            }

            if (ready is null)
            {
                continue;
            }

            if (!_pending.IsEmpty)
            {
                ready.CompleteOnThreadPool();
            }
            else if (!CompleteHere(ready))
            {
                // The caller kept this thread too long and another reader has the socket: this thread is the caller's now.
                return;
            }
        }
    }

    private void End(Exception? cause)
    {
        _done = true;
        _ended(cause);
        _stopped.TrySetResult();
    }

    /// <summary>Runs the caller's continuation on the reader; false when a new reader took over meanwhile.</summary>
    private bool CompleteHere(PendingRequest ready)
    {
        int episode = _episodes + 1;
        _episodes = episode;
        Volatile.Write(ref _inlineSince, Stopwatch.GetTimestamp());
        Volatile.Write(ref _inline, episode);
        if (Interlocked.Exchange(ref _handoverArmed, 1) == 0)
        {
            _handover.Change(Handover, Timeout.InfiniteTimeSpan);
        }

        ready.CompleteHere();
        return Interlocked.CompareExchange(ref _inline, 0, episode) == episode;
    }

    /// <summary>The hand-over timer: a reader kept by a caller's code for too long is replaced.</summary>
    private void CheckReader()
    {
        int episode = Volatile.Read(ref _inline);
        if (episode != 0)
        {
            TimeSpan kept = Stopwatch.GetElapsedTime(Volatile.Read(ref _inlineSince));
            if (kept < Handover)
            {
                _handover.Change(Handover - kept, Timeout.InfiniteTimeSpan);
                return;
            }

            if (Interlocked.CompareExchange(ref _inline, 0, episode) == episode && !_done)
            {
                Start();
            }
        }

        Volatile.Write(ref _handoverArmed, 0);
        if (Volatile.Read(ref _inline) != 0 && Interlocked.Exchange(ref _handoverArmed, 1) == 0)
        {
            // A continuation started as the timer disarmed.
            _handover.Change(Handover, Timeout.InfiniteTimeSpan);
        }
    }
}
