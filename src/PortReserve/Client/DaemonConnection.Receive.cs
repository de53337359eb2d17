using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

internal sealed partial class DaemonConnection
{
    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[FrameHeader.MaxFrameSize + 1];
        try
        {
            while (true)
            {
                int received = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (received == 0 || received > FrameHeader.MaxFrameSize)
                {
                    break;
                }

                if (!Dispatch(buffer.AsSpan(0, received)))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        // Signal first, then fail what is pending: a request that registers after this sees Lost and fails itself.
        WasLost = Volatile.Read(ref _disposed) == 0;
        _lost.Cancel();
        PortReservationException lost = _refusal ?? ConnectionLost();
        foreach (uint id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out PendingRequest? pending))
            {
                pending.Fail(lost);
            }
        }
    }

    /// <summary>Routes one reply frame to its request; false when the daemon broke the protocol.</summary>
    private bool Dispatch(ReadOnlySpan<byte> frame)
    {
        FrameHeader header;
        try
        {
            header = FrameHeader.Read(frame);
        }
        catch (ProtocolException)
        {
            return false;
        }

        if (header.RequestId == 0 && header.Error is { } refused)
        {
            // The daemon turned the connection away (a limit); every call on it fails with that reason.
            var reader = new FrameReader(frame[FrameHeader.Size..]);
            _refusal = new PortReservationException(refused, ReadMessage(ref reader));
            return false;
        }

        if (!header.IsReply || !_pending.TryGetValue(header.RequestId, out PendingRequest? pending) || pending.Type != header.Operation)
        {
            return false;
        }

        if (pending.Add(header, frame[FrameHeader.Size..]))
        {
            _pending.TryRemove(header.RequestId, out _);
            if (pending.IsAbandoned)
            {
                UndoAbandoned(pending);
            }
        }

        return true;
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
    private void UndoAbandoned(PendingRequest pending)
    {
        if (pending.Type != MessageType.Acquire || pending.Completion.Result.Error is not null)
        {
            return;
        }

        var reader = new FrameReader(pending.Completion.Result.Single);
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
