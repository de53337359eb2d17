using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// One SOCK_SEQPACKET connection to portreserved. Requests carry ids so that callers may pipeline; a reader thread
/// matches replies to them (see <see cref="StartReader"/>). When the connection is lost every pending call fails with Aborted and
/// <see cref="Lost"/> fires, because the daemon drops the runtime reservations of a closed connection.
/// </summary>
internal sealed partial class DaemonConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<uint, PendingRequest> _pending = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly byte[] _receiveBuffer = new byte[FrameHeader.MaxFrameSize + 1];
    private readonly TaskCompletionSource _readerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer _handover;
    private readonly TimeSpan _requestTimeout;
    private readonly RequestWatchdog _watchdog;
    private int _inline;
    private int _inlineEpisodes;
    private long _inlineSince;
    private int _handoverArmed;
    private uint _nextRequestId;
    private PortReservationException? _refusal;
    private Exception? _lossCause;
    private volatile bool _closed;
    private int _disposed;

    private DaemonConnection(Socket socket, string socketPath, uint? serverUid, TimeSpan requestTimeout)
    {
        _socket = socket;
        SocketPath = socketPath;
        ServerUid = serverUid;
        _requestTimeout = requestTimeout;
        _watchdog = new RequestWatchdog(requestTimeout, TimeOut);
        _handover = new Timer(static state => ((DaemonConnection)state!).CheckReader(), this, Timeout.Infinite, Timeout.Infinite);
        StartReader();
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
        uint id = Interlocked.Increment(ref _nextRequestId);
        var pending = new PendingRequest(type, _requestTimeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)_requestTimeout.TotalMilliseconds);
        _pending[id] = pending;
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
            _pending.TryRemove(id, out _);
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

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        // The reader sees the shutdown as the end of the stream; the socket is closed once no thread can be using it.
        await _readerEnded.Task.ConfigureAwait(false);
        await _handover.DisposeAsync().ConfigureAwait(false);
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
            int length = Encode(buffer, header, request);
            // The socket stays blocking for the reader, so sends say MSG_DONTWAIT. The daemon's queue for this connection
            // is full only when it is far behind (or stopped): then wait a little, as long as the caller is willing to and
            // for no longer than the request timeout.
            long started = Environment.TickCount64;
            for (int wait = 1; !SocketSend.TrySend(_socket, buffer.AsSpan(0, length)); wait = Math.Min(wait * 2, 50))
            {
                if (_requestTimeout != Timeout.InfiniteTimeSpan && Environment.TickCount64 - started > _requestTimeout.TotalMilliseconds)
                {
                    throw NotAnswering(type, null);
                }

                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            // A daemon that turned this connection away said why in a frame the reader may still be reading.
            await Task.WhenAny(_readerEnded.Task, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
            throw _refusal ?? ConnectionLost(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Encode<TRequest>(byte[] buffer, FrameHeader header, TRequest request)
        where TRequest : IRequestPayload
    {
        var writer = new FrameWriter(buffer.AsSpan(0, FrameHeader.MaxRequestSize), header);
        request.Write(ref writer);
        return writer.Length;
    }

    /// <summary>The watchdog's round: every request past its deadline is given up (its late reply is undone when it comes); whether any is left waiting.</summary>
    private bool TimeOut(long now)
    {
        bool waiting = false;
        foreach (PendingRequest pending in _pending.Values)
        {
            if (pending.Deadline > now)
            {
                waiting = true;
            }
            else
            {
                pending.TryTimeOut(NotAnswering(pending.Type, new TimeoutException()));
            }
        }

        return waiting;
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
