using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The daemon's Unix socket: binds it (probing and removing a stale socket file first), accepts connections, and runs
/// each one. Disposal or abort of the listening socket means shutdown; other accept errors mean accept again.
/// </summary>
internal sealed class DaemonListener(string socketPath, ReservationService service, AccessPolicy access, ConnectionLimits limits, ILogger logger) : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
    private readonly ConcurrentDictionary<long, (ClientConnection Connection, Task Running)> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextConnectionId;

    public string SocketPath { get; } = socketPath;

    public int ConnectionCount => _connections.Count;

    public void Start()
    {
        UnixSocketFile.PrepareForBind(SocketPath);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));

        // Everyone may connect; each request is checked against the peer's kernel credentials.
        File.SetUnixFileMode(SocketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        // The kernel caps this at net.core.somaxconn; a larger backlog absorbs bursts of connecting test runners.
        _listener.Listen(4096);
        _acceptLoop = AcceptLoopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        foreach ((ClientConnection connection, Task _) in _connections.Values)
        {
            connection.Abort();
        }

        await Task.WhenAll(_connections.Values.Select(c => c.Running)).ConfigureAwait(false);
        UnixSocketFile.Remove(SocketPath);
        _stopping.Dispose();
    }

    private Task AcceptLoopAsync() => AcceptLoop.RunAsync(_listener, Serve, logger, _stopping.Token);

    private void Serve(Socket accepted)
    {
        PeerCredentials peer;
        try
        {
            peer = PeerCredentials.Read(accepted);
        }
        catch (SocketException e)
        {
            DaemonLog.ConnectionError(logger, 0, e.SocketErrorCode);
            accepted.Dispose();
            return;
        }

        if (limits.TryOpen(peer.Uid) is { } refusal)
        {
            DaemonLog.ConnectionRefused(logger, peer.Pid, peer.Uid, refusal);
            _ = RefuseAsync(accepted, refusal);
            return;
        }

        long id = Interlocked.Increment(ref _nextConnectionId);
        var connection = new ClientConnection(id, accepted, peer, access.RequesterFor(peer), service, logger);
        service.ConnectionOpened();
        DaemonLog.ConnectionOpened(logger, id, peer.Pid, peer.Uid);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connections[id] = (connection, started.Task);
        _ = RunConnectionAsync(connection, started);
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

    private async Task RunConnectionAsync(ClientConnection connection, TaskCompletionSource finished)
    {
        try
        {
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            limits.Closed(connection.Peer.Uid);
            _connections.TryRemove(connection.Id, out _);
            DaemonLog.ConnectionClosed(logger, connection.Id, connection.Peer.Pid);
            finished.SetResult();
        }
    }
}
