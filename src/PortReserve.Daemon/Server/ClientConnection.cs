using System.Buffers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// One client connection: reads request frames, serves them, and ties the runtime reservations acquired on it to its
/// life. Requests are taken in order; replies that wait for the kernel go out as they complete (matched by request id).
/// </summary>
internal sealed partial class ClientConnection(long id, Socket socket, PeerCredentials peer, Requester requester, ReservationService service, ILogger logger)
{
    // Idle connections wait with a 1-byte peek (it leaves a SEQPACKET message whole) and borrow a full-size buffer only
    // while a frame is in hand, so a thousand idle clients cost no receive buffers. Nobody reads the peeked byte.
    private static readonly byte[] s_peekBuffer = new byte[1];

    public long Id { get; } = id;

    public PeerCredentials Peer { get; } = peer;

    private ReservationOwner Owner => new(Id, Peer.Pid, Peer.Uid, Peer.Gid, requester.IsAdministrator);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await socket.ReceiveAsync(s_peekBuffer, SocketFlags.Peek, cancellationToken).ConfigureAwait(false) > 0)
            {
                // One more byte than the limit detects an oversized (truncated) frame.
                byte[] frame = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxRequestSize + 1);
                try
                {
                    int received = await socket.ReceiveAsync(frame.AsMemory(0, FrameHeader.MaxRequestSize + 1), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    if (received == 0)
                    {
                        break;
                    }

                    if (received > FrameHeader.MaxRequestSize)
                    {
                        DaemonLog.ProtocolViolation(logger, Id, Peer.Pid, Peer.Uid, $"frame larger than {FrameHeader.MaxRequestSize} bytes");
                        break;
                    }

                    if (!await HandleFrameAsync(frame, received).ConfigureAwait(false))
                    {
                        break;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Shutdown aborted the connection.
        }
        catch (SocketException e)
        {
            DaemonLog.ConnectionError(logger, Id, e.SocketErrorCode);
        }
        finally
        {
            service.ConnectionClosed(Id);
            socket.Dispose();
        }
    }

    public void Abort() => socket.Dispose();

    /// <summary>Serves one frame; false means the peer broke the protocol and the connection must close.</summary>
    private async ValueTask<bool> HandleFrameAsync(byte[] frame, int length)
    {
        FrameHeader header;
        try
        {
            header = FrameHeader.Read(frame.AsSpan(0, length));
            if (header.IsReply || header.Status != 0 || header.Flags != FrameFlags.None)
            {
                throw new ProtocolException("a request frame must not carry reply bits, a status, or flags");
            }
        }
        catch (ProtocolException e)
        {
            DaemonLog.ProtocolViolation(logger, Id, Peer.Pid, Peer.Uid, e.Message);
            return false;
        }

        try
        {
            await DispatchAsync(header, frame, length).ConfigureAwait(false);
        }
        catch (ProtocolException e)
        {
            await SendErrorAsync(header, PortReservationErrorKind.InvalidArgument, $"malformed {header.Operation} request: {e.Message}").ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Decodes the request (synchronously: nothing refers to <paramref name="frame"/> afterwards) and serves it.</summary>
    private ValueTask DispatchAsync(FrameHeader header, byte[] frame, int length)
    {
        var reader = new FrameReader(frame.AsSpan(FrameHeader.Size, length - FrameHeader.Size));
        switch (header.Operation)
        {
            case MessageType.Acquire:
                _ = TrackAsync(CompleteAsync(header, service.AcquireAsync(BlockRequest.Read(ref reader), Owner)));
                return ValueTask.CompletedTask;
            case MessageType.Release:
                _ = TrackAsync(CompleteAsync(header, service.ReleaseAsync(TokenRequest.Read(ref reader).Token, Peer)));
                return ValueTask.CompletedTask;
            case MessageType.Associate:
                return ReplyAsync(header, service.Authorize(TokenRequest.Read(ref reader), requester));
            case MessageType.Show:
                return SendListingAsync(header, service.Show(ShowRequest.Read(ref reader).Protocol, requester));
            case MessageType.CreatePersistent:
                _ = TrackAsync(CompleteAsync(header, service.CreatePersistentAsync(CreatePersistentRequest.Read(ref reader), requester)));
                return ValueTask.CompletedTask;
            case MessageType.LookupPersistent:
                return ReplyAsync(header, service.LookupPersistent(BlockRequest.Read(ref reader)));
            case MessageType.DeletePersistent:
                _ = TrackAsync(CompleteAsync(header, service.DeletePersistentAsync(BlockRequest.Read(ref reader), requester)));
                return ValueTask.CompletedTask;
            case MessageType.Status:
                reader.EnsureEnd();
                return SendStatusAsync(header);
            default:
                throw new ProtocolException($"{header.Operation} is not a request");
        }
    }

    private async Task CompleteAsync(FrameHeader header, Task<TableResult> operation)
        => await ReplyAsync(header, await operation.ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>Runs a reply that waits for the kernel without holding up the next request; failures are logged, never thrown.</summary>
    private async Task TrackAsync(Task reply)
    {
        try
        {
            await reply.ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away before its reply: nothing to tell it, and its reservations go with the connection.
        }
        catch (Exception e)
        {
            DaemonLog.UnexpectedRequestFailure(logger, Id, e);
        }
    }

    private ValueTask ReplyAsync(FrameHeader request, TableResult result)
    {
        if (!result.Succeeded)
        {
            return SendErrorAsync(request, result.Error!.Value, result.Message!);
        }

        Reservation reservation = result.Reservation!;
        bool empty = request.Operation is MessageType.Release or MessageType.DeletePersistent;
        return SendAsync(request, empty ? null : new ReservationGrant(reservation.Protocol, reservation.Range, reservation.Token));
    }

    private ValueTask SendAsync(FrameHeader request, ReservationGrant? grant)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64);
        var writer = new FrameWriter(buffer, Reply(request, 0));
        grant?.Write(ref writer);
        return SendAndReturnAsync(buffer, writer.Length);
    }

    private ValueTask SendErrorAsync(FrameHeader request, PortReservationErrorKind kind, string message)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameReader.MaxStringBytes + 64);
        var writer = new FrameWriter(buffer, Reply(request, (byte)kind));
        writer.WriteString(message);
        return SendAndReturnAsync(buffer, writer.Length);
    }

    private async ValueTask SendAndReturnAsync(byte[] buffer, int length)
    {
        try
        {
            await socket.SendAsync(buffer.AsMemory(0, length), SocketFlags.None).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FrameHeader Reply(FrameHeader request, byte status)
        => new((MessageType)((byte)request.Operation | (byte)MessageType.ReplyBit), FrameFlags.None, status, request.RequestId);
}
