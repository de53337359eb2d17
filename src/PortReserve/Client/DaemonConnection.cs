using System.Buffers;
using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// One SOCK_SEQPACKET connection to portreserved (made by <see cref="DaemonConnector"/>). Requests carry ids so that
/// callers may pipeline: each waits in the <see cref="PendingRequests"/> table until the <see cref="ReplyReader"/>
/// routes its reply to it (<see cref="Dispatch"/>), the <see cref="RequestWatchdog"/> gives up on it, or the connection
/// is lost. When the connection is lost every pending call fails with Aborted and <see cref="Lost"/> fires, because the
/// daemon drops the runtime reservations of a closed connection.
/// </summary>
internal sealed class DaemonConnection : IAsyncDisposable
{
    /// <summary>How long a send that failed waits for the reader to read why: a daemon that turned the connection away (a limit) said so in a frame.</summary>
    private static readonly TimeSpan s_refusalGrace = TimeSpan.FromSeconds(1);

    private readonly FrameSocket _socket;
    private readonly PendingRequests _pending = new();
    private readonly ReplyReader _reader;
    private readonly RequestWatchdog _watchdog;
    private readonly CancellationTokenSource _lost = new();
    private readonly TimeSpan _requestTimeout;
    private PortReservationException? _refusal;
    private Exception? _lossCause;
    private volatile bool _closed;
    private int _disposed;

    internal DaemonConnection(Socket socket, string socketPath, uint? serverUid, TimeSpan requestTimeout)
    {
        _socket = new FrameSocket(socket);
        SocketPath = socketPath;
        ServerUid = serverUid;
        _requestTimeout = requestTimeout;
        _watchdog = new RequestWatchdog(requestTimeout, now => _pending.TimeOut(now, type => NotAnswering(type, new TimeoutException())));
        _reader = new ReplyReader(socket, _pending, Dispatch, End);
        _reader.Start();
    }

    public string SocketPath { get; }

    /// <summary>The uid of the process that made the listening socket (<c>SO_PEERCRED</c>); null if the kernel would not say.</summary>
    public uint? ServerUid { get; }

    /// <summary>Fires when the daemon went away or the connection broke; never for this side's own dispose.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True when the daemon turned this connection away (a limit), rather than went away.</summary>
    public bool WasRefused => _closed && _refusal is not null;

    /// <summary>True once the connection is over, lost or disposed: no request can be made on it.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// Sends a request and waits for its complete reply. Error replies are returned, not thrown. A reply that crosses the
    /// caller's cancellation is either returned (it arrived first) or given back by the receive loop (see
    /// <see cref="UndoAbandoned"/>), so a cancelled acquire never leaves a reservation behind.
    /// </summary>
    public async ValueTask<Reply> RequestAsync<TRequest>(MessageType type, TRequest request, CancellationToken cancellationToken)
        where TRequest : IRequestPayload
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        (uint id, PendingRequest pending) = _pending.Add(type, _requestTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)_requestTimeout.TotalMilliseconds);
        _watchdog.Arm();
        try
        {
            if (_closed)
            {
                throw _refusal ?? ConnectionLost(_lossCause);
            }

            await SendAsync(new FrameHeader(type, FrameFlags.None, 0, id), request, type, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Never sent (a SEQPACKET message goes whole or not at all): nothing will answer it.
            _pending.Remove(id);
            throw;
        }

        // A request the daemon does not answer in time is failed by the watchdog (no timer per request on this path).
        try
        {
            return await pending.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (pending.TryAbandon())
            {
                // A late grant of an abandoned acquire is given back when it comes (UndoAbandoned).
                throw;
            }

            // The reply was handed over as the cancellation or the timeout came: the operation happened, so it is the answer.
            return await pending.Completion.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The reader sees the shutdown as the end of the stream; the socket is closed once no thread can be using it.
        _socket.Shutdown();
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _watchdog.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        // _lost stays undisposed: reservations hand out its token, which must stay readable after the client is gone.
    }

    private async ValueTask SendAsync<TRequest>(FrameHeader header, TRequest request, MessageType type, CancellationToken cancellationToken)
        where TRequest : IRequestPayload
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxRequestSize);
        try
        {
            var writer = new FrameWriter(buffer.AsSpan(0, FrameHeader.MaxRequestSize), header);
            request.Write(ref writer);
            TimeSpan? giveUpAfter = _requestTimeout == Timeout.InfiniteTimeSpan ? null : _requestTimeout;
            await _socket.SendAsync(buffer.AsMemory(0, writer.Length), giveUpAfter, () => NotAnswering(type, null), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(_reader.Stopped, Task.Delay(s_refusalGrace, CancellationToken.None)).ConfigureAwait(false);
            throw _refusal ?? ConnectionLost(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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

        _pending.FailAll(disposing ? new ObjectDisposedException(nameof(PortReservationClient)) : _refusal ?? ConnectionLost(cause));
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

        if (!header.IsReply || !_pending.TryGet(header.RequestId, header.Operation, out PendingRequest pending))
        {
            return new ProtocolException($"portreserved sent a {header.Operation} reply to request {header.RequestId}, which is not waiting for one");
        }

        if (pending.Add(header, frame[FrameHeader.Size..]) is { } reply)
        {
            _pending.Remove(header.RequestId);
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

    private PortReservationException NotAnswering(MessageType type, Exception? cause) => new(
        PortReservationErrorKind.ServiceUnavailable,
        $"portreserved at {SocketPath} did not answer a {type} request within {_requestTimeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s: it is stopped, hung or overloaded. " +
        "Check it (portreserve status, its log), or allow more time (PortReservationClientOptions.RequestTimeout, portreserve --timeout).",
        cause);

    private PortReservationException ConnectionLost(Exception? cause = null) => new(
        PortReservationErrorKind.Aborted,
        $"the connection to portreserved at {SocketPath} was lost; runtime reservations made on it are released. Check that the daemon is running (portreserve status).",
        cause);
}
