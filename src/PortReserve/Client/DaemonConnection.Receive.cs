using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

internal sealed partial class DaemonConnection
{
    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[FrameHeader.MaxFrameSize + 1];
        Exception? cause = null;
        try
        {
            while (true)
            {
                int received = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                if (received > FrameHeader.MaxFrameSize)
                {
                    cause = new ProtocolException($"portreserved sent a frame larger than {FrameHeader.MaxFrameSize} bytes");
                    break;
                }

                if (Dispatch(buffer.AsSpan(0, received)) is { } violation)
                {
                    cause = violation;
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            cause = e;
        }

        // Closed first, then fail what is pending: a request that registers after this sees it closed and fails itself.
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
    }

    /// <summary>Routes one reply frame to its request; returns why not when the daemon broke the protocol.</summary>
    private ProtocolException? Dispatch(ReadOnlySpan<byte> frame)
    {
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
            if (!pending.TryComplete(reply))
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

        var reader = new FrameReader(reply.Single);
        ulong token = ReservationGrant.Read(ref reader).Token;
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
