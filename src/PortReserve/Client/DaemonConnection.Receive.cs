using System.Diagnostics;
using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

internal sealed partial class DaemonConnection
{
    /// <summary>How long a caller's code may keep the reader thread before another thread takes over reading.</summary>
    private static readonly TimeSpan s_readerHandover = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Starts the reader: a thread of the connection's own, blocked in recv(2) on its socket. The reply a lone caller
    /// waits for wakes this thread and nothing else, and the caller continues on it: no hop through the runtime's socket
    /// thread and the thread pool, which costs more CPU than the request itself. Replies that find other callers waiting
    /// go to the thread pool, so no caller's code delays another's reply.
    /// </summary>
    /// <remarks>
    /// A caller's code that keeps the reader (computes, sleeps, or blocks on another request of this connection) for
    /// longer than <see cref="s_readerHandover"/> is left the thread, and a new reader takes over the socket: replies are
    /// always read, and blocking on a request from the code after an await cannot deadlock.
    /// </remarks>
    private void StartReader()
    {
        var reader = new Thread(static state => ((DaemonConnection)state!).Read())
        {
            IsBackground = true,
            Name = "PortReserve reader",
        };
        reader.UnsafeStart(this);
    }

    private void Read()
    {
        byte[] buffer = _receiveBuffer;
        while (true)
        {
            int received;
            try
            {
                received = _socket.Receive(buffer, SocketFlags.None);
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
                _ => Dispatch(buffer.AsSpan(0, received), out ready),
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

    /// <summary>Runs the caller's continuation on the reader; false when a new reader took over meanwhile.</summary>
    private bool CompleteHere(PendingRequest ready)
    {
        int episode = _inlineEpisodes + 1;
        _inlineEpisodes = episode;
        Volatile.Write(ref _inlineSince, Stopwatch.GetTimestamp());
        Volatile.Write(ref _inline, episode);
        if (Interlocked.Exchange(ref _handoverArmed, 1) == 0)
        {
            _handover.Change(s_readerHandover, Timeout.InfiniteTimeSpan);
        }

        ready.CompleteHere();
        return Interlocked.CompareExchange(ref _inline, 0, episode) == episode;
    }

    /// <summary>The handover timer: a reader kept by a caller's code for too long is replaced.</summary>
    private void CheckReader()
    {
        int episode = Volatile.Read(ref _inline);
        if (episode != 0)
        {
            TimeSpan kept = Stopwatch.GetElapsedTime(Volatile.Read(ref _inlineSince));
            if (kept < s_readerHandover)
            {
                _handover.Change(s_readerHandover - kept, Timeout.InfiniteTimeSpan);
                return;
            }

            if (Interlocked.CompareExchange(ref _inline, 0, episode) == episode && !_closed)
            {
                StartReader();
            }
        }

        Volatile.Write(ref _handoverArmed, 0);
        if (Volatile.Read(ref _inline) != 0 && Interlocked.Exchange(ref _handoverArmed, 1) == 0)
        {
            // A continuation started as the timer disarmed.
            _handover.Change(s_readerHandover, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The connection is over: it is closed first, then what is pending fails (a request that registers after this sees it closed and fails itself).</summary>
    private void End(Exception? cause)
    {
        _lossCause = cause;
        _closed = true;
        bool disposing = Volatile.Read(ref _disposed) != 0;
        if (!disposing)
        {
            _lost.Cancel();
        }

        Exception failure = disposing ? new ObjectDisposedException(nameof(PortReservationClient)) : _refusal ?? ConnectionLost(cause);
        foreach (uint id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out PendingRequest? pending))
            {
                pending.Fail(failure);
            }
        }

        _readerEnded.TrySetResult();
    }

    /// <summary>
    /// Routes one reply frame to its request, and returns that request in <paramref name="ready"/> once its reply is whole
    /// and its caller's to take; returns why not when the daemon broke the protocol.
    /// </summary>
    private ProtocolException? Dispatch(ReadOnlySpan<byte> frame, out PendingRequest? ready)
    {
        ready = null;
        FrameHeader header;
        try
        {
            header = FrameHeader.Read(frame);
        }
        catch (ProtocolException e)
        {
            return e;
        }

        if (header.RequestId == 0 && header.Error is { } refused)
        {
            // The daemon turned the connection away (a limit); every call on it fails with that reason.
            var reader = new FrameReader(frame[FrameHeader.Size..]);
            _refusal = new PortReservationException(refused, ReadMessage(ref reader));
            return new ProtocolException("portreserved refused the connection");
        }

        if (!header.IsReply || !_pending.TryGetValue(header.RequestId, out PendingRequest? pending) || pending.Type != header.Operation)
        {
            return new ProtocolException($"portreserved sent a {header.Operation} reply to request {header.RequestId}, which is not waiting for one");
        }

        if (pending.Add(header, frame[FrameHeader.Size..]) is { } reply)
        {
            _pending.TryRemove(header.RequestId, out _);
            if (pending.TryClaim())
            {
                ready = pending;
            }
            else
            {
                UndoAbandoned(pending.Type, reply);
            }
        }

        return null;
    }

    private static string ReadMessage(ref FrameReader reader)
    {
        try
        {
            return reader.ReadString();
        }
        catch (ProtocolException)
        {
            return "portreserved refused the connection";
        }
    }

    /// <summary>A cancelled acquire that the daemon granted anyway is released at once, so the ports do not leak.</summary>
    private void UndoAbandoned(MessageType type, Reply reply)
    {
        if (type != MessageType.Acquire || reply.Error is not null)
        {
            return;
        }

        ulong token;
        try
        {
            var reader = new FrameReader(reply.Single);
            token = ReservationGrant.Read(ref reader).Token;
        }
        catch (ProtocolException)
        {
            // Not a grant after all: nothing to give back.
            return;
        }

        _ = ReleaseQuietlyAsync(token);
    }

    private async Task ReleaseQuietlyAsync(ulong token)
    {
        try
        {
            await RequestAsync(MessageType.Release, new TokenRequest(token, null), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PortReservationException or ObjectDisposedException)
        {
            // Connection gone: the daemon has released it with the connection.
        }
    }
}
