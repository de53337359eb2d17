using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The daemon's Unix socket and the event loop that serves it: binds it (a stale socket file from a crash is removed,
/// a live one refused), accepts connections within the connection limits, and serves every connection on the loop's
/// one thread until it closes or the daemon stops.
/// </summary>
internal sealed class DaemonListener : IAsyncDisposable
{
    // The kernel caps the backlog at net.core.somaxconn; a large one absorbs bursts of connecting test runners.
    private const int Backlog = 4096;

    // A connection holds its socket and a pidfd of the process that opened it.
    private const int DescriptorsPerConnection = 2;

    // Refusals told their reason at once; more than this (a flood) are closed without one.
    private const int MaxRefusing = 64;

    private readonly EventLoop _loop;
    private readonly Acceptor _acceptor;
    private readonly UnixSocketFile _socketFile;
    private readonly ConnectionServices _services;
    private readonly ConnectionLimits _limits;
    private readonly ILogger _logger;
    private readonly RequestAudit _audit;
    private readonly HashSet<ClientConnection> _open = [];
    private readonly InFlight _refusing = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextConnectionId;
    private bool _stopping;

    private DaemonListener(EventLoop loop, Socket listener, UnixSocketFile socketFile, RequestHandlers handlers, ReservationLedger ledger, ConnectionLimits limits, RequestAudit audit, ILogger logger)
    {
        _loop = loop;
        _socketFile = socketFile;
        _limits = limits;
        _logger = logger;
        _audit = audit;
        var commit = new TurnCommit(ledger, handlers.Runtime, logger);
        _services = new ConnectionServices(loop, handlers, commit, Finished, audit, logger);
        loop.TurnEnded += commit.OnTurnEnded;
        _acceptor = new Acceptor(loop, listener, Serve, logger);
    }

    /// <summary>Serves the socket on <paramref name="loop"/> (started, and stopped by its owner after this listener).</summary>
    public static DaemonListener Start(EventLoop loop, string socketPath, RequestHandlers handlers, ReservationLedger ledger, ConnectionLimits limits, RequestAudit audit, ILogger logger)
    {
        // Everyone may connect; each request is checked against the peer's kernel credentials.
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        UnixSocketFile? socketFile = null;
        try
        {
            socketFile = UnixSocketFile.Bind(listener, socketPath, UnixSocketFile.EveryoneReadWrite, "--socket");
            listener.Listen(Backlog);
            return loop.Invoke(() => new DaemonListener(loop, listener, socketFile, handlers, ledger, limits, audit, logger));
        }
        catch
        {
            listener.Dispose();
            socketFile?.Dispose();
            throw;
        }
    }

    /// <summary>Stops accepting, closes every connection (each once its requests are done), and removes the socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        _loop.Post(BeginStop);
        await _stopped.Task.ConfigureAwait(false);
        await _refusing.DrainAsync().ConfigureAwait(false);
        _socketFile.Dispose();
    }

    private void Serve(Socket accepted)
    {
        Principal peer;
        SafeFileHandle? pidfd;
        try
        {
            peer = PeerCredentials.Read(accepted, _services.Handlers.Access, out pidfd);
        }
        catch (SocketException e)
        {
            DaemonLog.ConnectionError(_logger, 0, e.SocketErrorCode.ToString());
            accepted.Dispose();
            return;
        }

        if (_limits.TryOpen(peer.Uid, peer.IsAdministrator, DescriptorsPerConnection) is { } refusal)
        {
            _audit.ConnectionRefused(peer.Pid, peer.Uid, refusal);
            pidfd?.Dispose();
            if (_refusing.Count >= MaxRefusing)
            {
                // A flood: no courtesy frame, so that refusing costs no descriptor for longer than this.
                accepted.Dispose();
                return;
            }

            _refusing.Enter();
            _ = RefuseAsync(accepted, refusal);
            return;
        }

        var connection = new ClientConnection(++_nextConnectionId, accepted, peer, pidfd, _services);
        _open.Add(connection);
        DaemonLog.ConnectionOpened(_logger, connection.Id, peer.Pid, peer.Uid);
        connection.Start();
    }

    private void Finished(ClientConnection connection)
    {
        _open.Remove(connection);
        _limits.Closed(connection.Peer.Uid, DescriptorsPerConnection);
        DaemonLog.ConnectionClosed(_logger, connection.Id, connection.Peer.Pid);
        if (_stopping && _open.Count == 0)
        {
            _stopped.TrySetResult();
        }
    }

    private void BeginStop()
    {
        _stopping = true;
        _acceptor.Stop();
        foreach (ClientConnection connection in _open.ToList())
        {
            connection.Close();
        }

        if (_open.Count == 0)
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Tells a connection over a limit why (a frame with request id 0 and the error), then closes it.</summary>
    private async Task RefuseAsync(Socket accepted, string reason)
    {
        try
        {
            using (accepted)
            {
                byte[] frame = new byte[FrameHeader.MaxFrameSize];
                int length = ReplyFrames.Error(frame, new FrameHeader(MessageType.Status, FrameFlags.None, 0, RequestId: 0), PortReservationErrorKind.NoBufferSpaceAvailable, reason);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await accepted.SendAsync(frame.AsMemory(0, length), SocketFlags.None, timeout.Token).ConfigureAwait(false);

                // Closing with the client's first request unread would reset the connection and could cost the client
                // the reason; so stop sending, drop what it sends, and close at its end (or after a second).
                accepted.Shutdown(SocketShutdown.Send);
                while (await accepted.ReceiveAsync(frame, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
                {
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
        }
        finally
        {
            _refusing.Exit();
        }
    }
}
