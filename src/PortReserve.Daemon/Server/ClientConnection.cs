using System.Buffers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// One client connection: reads request frames, serves them, and ties the runtime reservations acquired on it to its
/// life. Requests are taken in order; replies that wait for the kernel or the store go out as they complete (matched by
/// request id), and are tracked: the connection's reservations go back only after every request it started is done.
/// </summary>
internal sealed class ClientConnection
{
    // Idle connections wait with a 1-byte peek (it leaves a SEQPACKET message whole) and borrow a full-size buffer only
    // while a frame is in hand, so a thousand idle clients cost no receive buffers. Nobody reads the peeked byte.
    private static readonly byte[] s_peekBuffer = new byte[1];

    private readonly Socket _socket;
    private readonly Requester _requester;
    private readonly RequestHandlers _handlers;
    private readonly ReplySender _replies;
    private readonly InFlight _inFlight = new();
    private readonly ILogger _logger;

    public ClientConnection(long id, Socket socket, PeerCredentials peer, RequestHandlers handlers, ILogger logger)
    {
        Id = id;
        Peer = peer;
        _socket = socket;
        _handlers = handlers;
        _requester = handlers.Access.RequesterFor(peer);
        _replies = new ReplySender(socket);
        _logger = logger;
    }

    public long Id { get; }

    public PeerCredentials Peer { get; }

    private ReservationOwner Owner => new(Id, Peer.Pid, Peer.Uid, Peer.Gid, _requester.IsAdministrator);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _socket.ReceiveAsync(s_peekBuffer, SocketFlags.Peek, cancellationToken).ConfigureAwait(false) > 0)
            {
                if (!await ReceiveFrameAsync(cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Shutdown aborted the connection.
        }
        catch (SocketException e)
        {
            DaemonLog.ConnectionError(_logger, Id, e.SocketErrorCode);
        }
        finally
        {
            // Requests still being served finish first (their replies may fail: the peer is gone); then the
            // connection's reservations go, so none acquired on it can outlive it.
            await _inFlight.DrainAsync().ConfigureAwait(false);
            _handlers.Runtime.HolderGone(Id, "connection");
            _socket.Dispose();
        }
    }

    /// <summary>Receives and serves one frame; false when the peer closed or broke the protocol and the connection must close.</summary>
    private async ValueTask<bool> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        // One more byte than the limit detects an oversized (truncated) frame.
        byte[] frame = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxRequestSize + 1);
        try
        {
            int received = await _socket.ReceiveAsync(frame.AsMemory(0, FrameHeader.MaxRequestSize + 1), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                return false;
            }

            if (received > FrameHeader.MaxRequestSize)
            {
                DaemonLog.ProtocolViolation(_logger, Id, Peer.Pid, Peer.Uid, $"frame larger than {FrameHeader.MaxRequestSize} bytes");
                return false;
            }

            return await HandleFrameAsync(frame, received).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

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
            DaemonLog.ProtocolViolation(_logger, Id, Peer.Pid, Peer.Uid, e.Message);
            return false;
        }

        try
        {
            await DispatchAsync(header, frame, length).ConfigureAwait(false);
        }
        catch (ProtocolException e)
        {
            await _replies.SendErrorAsync(header, PortReservationErrorKind.InvalidArgument, $"malformed {header.Operation} request: {e.Message}").ConfigureAwait(false);
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
                return Track(header, _handlers.Runtime.AcquireAsync(PortBlock.Read(ref reader), Owner));
            case MessageType.Release:
                return Track(header, _handlers.Runtime.ReleaseAsync(TokenRequest.Read(ref reader).Token, _requester));
            case MessageType.Associate:
                return Track(header, _handlers.Runtime.AuthorizeAsync(TokenRequest.Read(ref reader), _requester, Id));
            case MessageType.Show:
                return _replies.SendListingAsync(header, _handlers.Status.Show(ShowRequest.Read(ref reader).Protocol, _requester));
            case MessageType.CreatePersistent:
                return Track(header, _handlers.Persistent.CreateAsync(CreatePersistentRequest.Read(ref reader), _requester));
            case MessageType.LookupPersistent:
                return _replies.SendAsync(header, _handlers.Persistent.Lookup(PortBlock.Read(ref reader), _requester));
            case MessageType.DeletePersistent:
                return Track(header, _handlers.Persistent.DeleteAsync(PortBlock.Read(ref reader), _requester));
            case MessageType.Status:
                reader.EnsureEnd();
                return _replies.SendStatusAsync(header, _handlers.Status.Status());
            case MessageType.ShareWithChildProcesses:
                reader.EnsureEnd();
                return Track(header, _handlers.Runtime.ShareWithChildProcessesAsync(Owner));
            default:
                throw new ProtocolException($"{header.Operation} is not a request");
        }
    }

    /// <summary>Serves a request that waits for the kernel or the store without holding up the next one, and tracks it.</summary>
    private ValueTask Track(FrameHeader header, Task<TableResult<Reservation>> operation)
    {
        _inFlight.Enter();
        _ = ReplyWhenDoneAsync(header, operation);
        return ValueTask.CompletedTask;
    }

    private ValueTask Track(FrameHeader header, Task<Refusal?> operation)
    {
        _inFlight.Enter();
        _ = ReplyWhenDoneAsync(header, operation);
        return ValueTask.CompletedTask;
    }

    /// <summary>Replies once <paramref name="operation"/> is done; failures are logged, never thrown.</summary>
    private async Task ReplyWhenDoneAsync(FrameHeader header, Task<TableResult<Reservation>> operation)
    {
        try
        {
            await _replies.SendAsync(header, await operation.ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Unanswered(e);
        }
        finally
        {
            _inFlight.Exit();
        }
    }

    /// <summary>Replies once <paramref name="operation"/> is done: empty, or its refusal.</summary>
    private async Task ReplyWhenDoneAsync(FrameHeader header, Task<Refusal?> operation)
    {
        try
        {
            Refusal? refusal = await operation.ConfigureAwait(false);
            await (refusal is null ? _replies.SendEmptyAsync(header) : _replies.SendErrorAsync(header, refusal.Kind, refusal.Message)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Unanswered(e);
        }
        finally
        {
            _inFlight.Exit();
        }
    }

    private void Unanswered(Exception e)
    {
        switch (e)
        {
            case SocketException or ObjectDisposedException or OperationCanceledException:
                // The client went away before its reply: nothing to tell it, and its reservations go with the connection.
                break;
            default:
                DaemonLog.UnexpectedRequestFailure(_logger, Id, e);
                break;
        }
    }
}
