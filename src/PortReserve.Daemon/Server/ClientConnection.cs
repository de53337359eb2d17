using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// One client connection, served on the event loop: it reads the request frames that are ready, serves each at once
/// (changes wait for the turn's kernel commit, <see cref="TurnCommit"/>; persistent changes, which fsync, run on the
/// thread pool and post their reply back), and ties the runtime reservations acquired on it to its life. Replies go out
/// without blocking; when the client does not read them they queue, and the connection reads no more requests until
/// they are gone. It closes at the client's end, a broken protocol or shutdown; its reservations go back once every
/// request it started is done.
/// </summary>
internal sealed class ClientConnection : EventLoop.IReadyHandler
{
    // A client sending without end yields the loop to the others after this many frames; the rest wait a turn.
    private const int FramesPerTurn = 32;
    private const int Reading = Libc.EPOLLIN | Libc.EPOLLRDHUP;
    private const int WaitingForRoom = Libc.EPOLLOUT;

    private readonly Socket _socket;
    private readonly ConnectionServices _services;
    private readonly RequestHandlers _handlers;
    private readonly ReservationOwner _owner;
    private readonly PeerProcessWatch _peerProcess;
    private readonly ReplyQueue _replies;
    private List<HolderId>? _adopted;
    private int _slot = -1;
    private int _offloaded;
    private State _state;

    private readonly SafeFileHandle? _pidfd;

    /// <param name="peer">The connecting process (<see cref="PeerCredentials.Read"/>).</param>
    /// <param name="pidfd">A pidfd of it, which the connection owns from now on.</param>
    public ClientConnection(long id, Socket socket, Principal peer, SafeFileHandle? pidfd, ConnectionServices services)
    {
        Id = id;
        _pidfd = pidfd;
        _socket = socket;
        _services = services;
        _handlers = services.Handlers;
        _owner = new ReservationOwner(HolderId.Connection(id), peer);
        _replies = new ReplyQueue(
            socket.SafeHandle,
            waitForRoom: () => _services.Loop.Change(_slot, _socket.SafeHandle, WaitingForRoom),
            roomAgain: () => _services.Loop.Change(_slot, _socket.SafeHandle, Reading),
            broken: errno =>
            {
                // The client went away before its reply: nothing to tell it, and its reservations go with the connection.
                DaemonLog.ConnectionError(_services.Logger, Id, Libc.Describe(errno));
                Close();
            });
        _peerProcess = new PeerProcessWatch(services.Loop, pidfd, peer.Pid, () => _handlers.Runtime.HolderProcessExited(_owner));
    }

    private enum State
    {
        Open,
        Closing,
        Closed,
    }

    public long Id { get; }

    /// <summary>The connecting process, as it asks and as it holds.</summary>
    public Principal Peer => _owner.Principal;

    public ReservationOwner Owner => _owner;

    /// <summary>Starts serving: from now on the loop calls <see cref="OnReady"/>.</summary>
    public void Start()
    {
        _slot = _services.Loop.Add(_socket.SafeHandle, Reading, this);
        _peerProcess.Start();
    }

    public void OnReady(int events)
    {
        if (_state != State.Open)
        {
            return;
        }

        if (_replies.IsWaiting)
        {
            // Waiting for room: only the peer's end (HUP, ERR) or room can be reported.
            _replies.OnRoom();
            return;
        }

        ReceiveFrames();
    }

    /// <summary>Replies to <paramref name="request"/> with its outcome.</summary>
    public void Reply(FrameHeader request, Refusable<Reservation> result) => Send(ReplyFrames.Outcome(_services.SendBuffer, request, result));

    private void ReplyReload(FrameHeader request, Refusable<ReloadReply> result)
        => Send(result.TryGet(out ReloadReply? applied, out Refusal? refused)
            ? ReplyFrames.Reload(_services.SendBuffer, request, applied)
            : ReplyFrames.Error(_services.SendBuffer, request, refused.Kind, refused.Message));

    /// <summary>The reply to a request that returns nothing but whether it was refused.</summary>
    private void ReplyOutcome(FrameHeader request, Refusal? refusal) => Send(ReplyFrames.Outcome(_services.SendBuffer, request, refusal));

    /// <summary>Stops reading and sending; the reservations go back once no request of this connection is still being served.</summary>
    public void Close()
    {
        if (_state != State.Open)
        {
            return;
        }

        _state = State.Closing;
        _replies.Clear();
        _peerProcess.Unwatch();
        if (_slot >= 0)
        {
            _services.Loop.Remove(_slot, _socket.SafeHandle);
        }

        if (_offloaded == 0)
        {
            Finish();
        }
    }

    private void ReceiveFrames()
    {
        byte[] buffer = _services.ReceiveBuffer;
        for (int i = 0; i < FramesPerTurn && _state == State.Open && !_replies.IsWaiting; i++)
        {
            // One byte more than the limit detects an oversized (truncated) frame.
            int received = (int)Libc.Receive(_socket.SafeHandle, buffer.AsSpan(0, FrameHeader.MaxRequestSize + 1), Libc.MSG_DONTWAIT);
            if (received > FrameHeader.MaxRequestSize)
            {
                Violation($"frame larger than {FrameHeader.MaxRequestSize} bytes");
                return;
            }

            if (received > 0)
            {
                Serve(buffer.AsSpan(0, received));
                continue;
            }

            if (received == 0)
            {
                Close();
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN)
            {
                return;
            }

            if (errno != Libc.EINTR)
            {
                DaemonLog.ConnectionError(_services.Logger, Id, Libc.Describe(errno));
                Close();
                return;
            }
        }
    }

    private void Serve(ReadOnlySpan<byte> frame)
    {
        FrameHeader header;
        try
        {
            header = FrameHeader.Read(frame);
            if (header.IsReply || header.Status != 0 || header.Flags != FrameFlags.None)
            {
                throw new ProtocolException("a request frame must not carry reply bits, a status, or flags");
            }
        }
        catch (ProtocolException e)
        {
            Violation(e.Message);
            return;
        }

        try
        {
            Dispatch(header, new FrameReader(frame[FrameHeader.Size..]));
        }
        catch (ProtocolException e)
        {
            Send(ReplyFrames.Error(_services.SendBuffer, header, PortReservationErrorKind.InvalidArgument, $"malformed {header.Operation} request: {e.Message}"));
        }
    }

    /// <summary>Decodes the request (nothing refers to the frame afterwards) and serves it.</summary>
    private void Dispatch(FrameHeader header, FrameReader reader)
    {
        long version;
        switch (header.Operation)
        {
            case MessageType.Acquire:
                PortBlock acquire = PortBlock.Read(ref reader);
                if (!RefusedForAGoneProcess(header, "acquire"))
                {
                    AfterCommit(header, _handlers.Runtime.Acquire(acquire, _owner, out version), version, acquire);
                }

                break;
            case MessageType.Release:
                AfterCommit(header, _handlers.Runtime.Release(TokenRequest.Read(ref reader).Token, Peer, out version), version);
                break;
            case MessageType.Associate:
                TokenRequest associate = TokenRequest.Read(ref reader);
                if (!RefusedForAGoneProcess(header, "associate"))
                {
                    AfterCommit(header, _handlers.Runtime.Authorize(associate, Peer, _owner.HolderId, out version), version);
                }

                break;
            case MessageType.Reattach:
                Reply(header, _handlers.Runtime.Reattach(TokenRequest.Read(ref reader).Token, Peer, out HolderId? adopted));
                if (adopted is { } restoredHolder)
                {
                    (_adopted ??= []).Add(restoredHolder);
                }

                break;
            case MessageType.Show:
                SendListing(header, _handlers.Status.Show(ShowRequest.Read(ref reader).Protocol, Peer));
                break;
            case MessageType.LookupPersistent:
                Reply(header, _handlers.Persistent.Lookup(PortBlock.Read(ref reader), Peer));
                break;
            case MessageType.Status:
                reader.EnsureEnd();
                Send(ReplyFrames.Status(_services.SendBuffer, header, _handlers.Status.Status()));
                break;
            case MessageType.CreatePersistent:
                CreatePersistentRequest create = CreatePersistentRequest.Read(ref reader);
                Offload(header, () => _handlers.Persistent.CreateAsync(create, Peer), Reply);
                break;
            case MessageType.DeletePersistent:
                PortBlock delete = PortBlock.Read(ref reader);
                Offload(header, () => _handlers.Persistent.DeleteAsync(delete, Peer), Reply);
                break;
            case MessageType.ReloadDeclarations:
                reader.EnsureEnd();
                Offload(header, () => _handlers.Declared.ReloadAsync(Peer, _handlers.Access), ReplyReload);
                break;
            case MessageType.ShareWithChildProcesses:
                reader.EnsureEnd();
                if (!RefusedForAGoneProcess(header, "share reservations with child processes"))
                {
                    Offload(header, () => _handlers.Runtime.ShareWithChildProcessesAsync(_owner, _pidfd!), ReplyOutcome);
                }

                break;
            default:
                throw new ProtocolException($"{header.Operation} is not a request");
        }
    }

    /// <summary>Refuses a request that would give the connection's process a right, when that process is gone.</summary>
    private bool RefusedForAGoneProcess(FrameHeader header, string operation)
    {
        if (_peerProcess.RefusalIfGone() is not { } gone)
        {
            return false;
        }

        Reply(header, _services.Audit.Refused(gone, operation, Peer.Pid, Peer.Uid));
        return true;
    }

    /// <summary>A change's reply goes out once the turn's kernel commit covers it; one that changed nothing, at once.</summary>
    private void AfterCommit(FrameHeader header, Refusable<Reservation> result, long version, PortBlock requested = default)
    {
        if (version == 0)
        {
            Reply(header, result);
        }
        else
        {
            _services.Commit.Add(this, header, result, version, requested);
        }
    }

    /// <summary>
    /// Runs an operation that may block (an fsync, a cgroup move, a name service lookup) on the thread pool, so the loop
    /// goes on serving everyone else; <paramref name="reply"/>, the one for what the operation returns, answers from the loop.
    /// </summary>
    private void Offload<T>(FrameHeader header, Func<Task<T>> operation, Action<FrameHeader, T> reply)
    {
        _offloaded++;
        _ = OffloadedAsync(header, operation, reply);
    }

    private async Task OffloadedAsync<T>(FrameHeader header, Func<Task<T>> operation, Action<FrameHeader, T> reply)
    {
        T? outcome = default;
        Exception? failure = null;
        try
        {
            outcome = await Task.Run(operation).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }

        _services.Loop.Post(() => OffloadedDone(header, outcome, failure, reply));
    }

    private void OffloadedDone<T>(FrameHeader header, T? outcome, Exception? failure, Action<FrameHeader, T> reply)
    {
        _offloaded--;
        if (failure is not null)
        {
            DaemonLog.UnexpectedRequestFailure(_services.Logger, Id, failure);
            Send(ReplyFrames.Error(_services.SendBuffer, header, PortReservationErrorKind.ServiceUnavailable, $"portreserved failed to serve this {header.Operation} request ({failure.Message}); nothing was changed, see its log"));
        }
        else
        {
            reply(header, outcome!);
        }

        if (_state == State.Closing && _offloaded == 0)
        {
            Finish();
        }
    }

    private void SendListing(FrameHeader header, List<ReservationEntry> entries)
    {
        int sent = 0;
        do
        {
            Send(ReplyFrames.ListingFrame(_services.SendBuffer, header, entries, ref sent));
        }
        while (sent < entries.Count);
    }

    /// <summary>Sends the frame encoded in the send buffer, or queues it (in order) while the client is not reading.</summary>
    private void Send(int length)
    {
        if (_state != State.Open)
        {
            return;
        }

        _replies.Send(_services.SendBuffer.AsSpan(0, length));
    }

    private void Violation(string reason)
    {
        _services.Audit.ProtocolViolation(Id, Peer.Pid, Peer.Uid, reason);
        Close();
    }

    private void Finish()
    {
        _state = State.Closed;
        _handlers.Runtime.ReleaseHolder(_owner.HolderId, "connection");
        foreach (HolderId adopted in _adopted ?? [])
        {
            _handlers.Runtime.ReleaseHolder(adopted, "connection");
        }

        _peerProcess.Dispose();
        _socket.Dispose();
        _services.Finished(this);
    }
}
