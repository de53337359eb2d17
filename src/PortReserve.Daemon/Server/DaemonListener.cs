using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The daemon's Unix socket: binds it (a stale socket file from a crash is removed, a live one refused), accepts
/// connections within the connection limits, and runs each one until it closes or the daemon stops.
/// </summary>
internal sealed class DaemonListener : IAsyncDisposable
{
    // The kernel caps the backlog at net.core.somaxconn; a large one absorbs bursts of connecting test runners.
    private const int Backlog = 4096;

    private readonly RequestHandlers _handlers;
    private readonly ConnectionLimits _limits;
    private readonly ILogger _logger;
    private readonly AcceptLoop _accepting;
    private long _nextConnectionId;

    private DaemonListener(string socketPath, RequestHandlers handlers, ConnectionLimits limits, ILogger logger)
    {
        _handlers = handlers;
        _limits = limits;
        _logger = logger;

        // Everyone may connect; each request is checked against the peer's kernel credentials.
        _accepting = AcceptLoop.Start(
            new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified),
            socket => UnixSocketFile.Bind(socket, socketPath, UnixSocketFile.EveryoneReadWrite),
            Backlog,
            ServeAsync,
            logger);
    }

    public static DaemonListener Start(string socketPath, RequestHandlers handlers, ConnectionLimits limits, ILogger logger) => new(socketPath, handlers, limits, logger);

    public ValueTask DisposeAsync() => _accepting.DisposeAsync();

    private async Task ServeAsync(Socket accepted, CancellationToken stopping)
    {
        PeerCredentials peer;
        try
        {
            peer = PeerCredentials.Read(accepted);
        }
        catch (SocketException e)
        {
            DaemonLog.ConnectionError(_logger, 0, e.SocketErrorCode);
            accepted.Dispose();
            return;
        }

        if (_limits.TryOpen(peer.Uid) is { } refusal)
        {
            DaemonLog.ConnectionRefused(_logger, peer.Pid, peer.Uid, refusal);
            await RefuseAsync(accepted, refusal).ConfigureAwait(false);
            return;
        }

        long id = Interlocked.Increment(ref _nextConnectionId);
        DaemonLog.ConnectionOpened(_logger, id, peer.Pid, peer.Uid);
        try
        {
            await new ClientConnection(id, accepted, peer, _handlers, _logger).RunAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            _limits.Closed(peer.Uid);
            DaemonLog.ConnectionClosed(_logger, id, peer.Pid);
        }
    }

    /// <summary>Tells a connection over a limit why (a frame with request id 0 and the error), then closes it.</summary>
    private static async Task RefuseAsync(Socket accepted, string reason)
    {
        using (accepted)
        {
            byte[] frame = new byte[FrameHeader.Size + 2 + (4 * reason.Length)];
            var writer = new FrameWriter(frame, new FrameHeader(MessageType.Status | MessageType.ReplyBit, FrameFlags.None, (byte)PortReservationErrorKind.NoBufferSpaceAvailable, RequestId: 0));
            writer.WriteString(reason);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await accepted.SendAsync(frame.AsMemory(0, writer.Length), SocketFlags.None, timeout.Token).ConfigureAwait(false);

                // Closing with the client's first request unread would reset the connection and could cost the client
                // the reason; so stop sending, drop what it sends, and close at its end (or after a second).
                accepted.Shutdown(SocketShutdown.Send);
                byte[] discard = new byte[FrameHeader.MaxRequestSize];
                while (await accepted.ReceiveAsync(discard, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
            }
        }
    }
}
