using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// One SOCK_SEQPACKET connection to portreserved. Requests carry ids so that callers may pipeline; a receive loop
/// matches replies to them. When the connection is lost every pending call fails with Aborted and
/// <see cref="Lost"/> fires, because the daemon drops the runtime reservations of a closed connection.
/// </summary>
internal sealed partial class DaemonConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<uint, PendingRequest> _pending = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _receiveLoop;
    private uint _nextRequestId;
    private PortReservationException? _refusal;
    private int _disposed;

    private DaemonConnection(Socket socket, string socketPath)
    {
        _socket = socket;
        SocketPath = socketPath;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>Fires when the connection to the daemon is gone, whether by dispose or by loss.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Set when the daemon went away (rather than this side closing).</summary>
    public bool WasLost { get; private set; }

    /// <summary>Sends a request and waits for its complete reply. Error replies are returned, not thrown.</summary>
    public async ValueTask<Reply> RequestAsync<TRequest>(MessageType type, TRequest request, CancellationToken cancellationToken)
        where TRequest : IRequestPayload
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        uint id = Interlocked.Increment(ref _nextRequestId);
        var pending = new PendingRequest(type);
        _pending[id] = pending;
        if (_lost.IsCancellationRequested)
        {
            _pending.TryRemove(id, out _);
            throw _refusal ?? ConnectionLost();
        }

        await SendAsync(new FrameHeader(type, FrameFlags.None, 0, id), request, cancellationToken).ConfigureAwait(false);
        try
        {
            return await pending.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The daemon may still carry it out; the receive loop undoes a late acquire so nothing leaks.
            pending.Abandon();
            throw;
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

        _socket.Dispose();
        // _lost stays undisposed: reservations hand out its token, which must stay readable after the client is gone.
        await _receiveLoop.ConfigureAwait(false);
    }

    private async ValueTask SendAsync<TRequest>(FrameHeader header, TRequest request, CancellationToken cancellationToken)
        where TRequest : IRequestPayload
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxRequestSize);
        try
        {
            int length = Encode(buffer, header, request);
            await _socket.SendAsync(buffer.AsMemory(0, length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            _pending.TryRemove(header.RequestId, out _);

            // A daemon that turned this connection away said why in a frame the receive loop may still be reading.
            await Task.WhenAny(_receiveLoop, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
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

    private PortReservationException ConnectionLost(Exception? cause = null) => new(
        PortReservationErrorKind.Aborted,
        $"the connection to portreserved at {SocketPath} was lost; runtime reservations made on it are released. Check that the daemon is running (portreserve status).",
        cause);
}
