using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace PortReserve.Daemon.Server;

/// <summary>
/// A listening socket and everything it starts, which every endpoint of the daemon shares. The accept discipline: a
/// disposed or aborted listener means shutdown; any other accept error (out of descriptors, a peer that vanished
/// mid-accept) means pause briefly and accept again. Each accepted socket is served with the stop token, and tracked;
/// disposing stops accepting, signals stop, waits for everything being served, and removes the socket file.
/// </summary>
internal sealed class AcceptLoop : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly UnixSocketFile? _socketFile;
    private readonly Func<Socket, CancellationToken, Task> _serve;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly InFlight _served = new();
    private readonly Task _loop;

    private AcceptLoop(Socket listener, UnixSocketFile? socketFile, Func<Socket, CancellationToken, Task> serve, ILogger logger)
    {
        _listener = listener;
        _socketFile = socketFile;
        _serve = serve;
        _logger = logger;
        _loop = RunOnOwnThread();
    }

    /// <summary>
    /// Binds <paramref name="socket"/> with <paramref name="bind"/> (which returns the socket file it created, if any),
    /// listens, and serves what it accepts. On failure the socket is closed and only a file this bind created is removed.
    /// </summary>
    /// <remarks>
    /// Accepts on a thread of the loop's own, blocked in accept(2), and starts serving each connection there: for an
    /// endpoint whose requests arrive with the connection and complete without waiting (the portserver), the thread pool
    /// would add a wakeup and its idle spinning to every one. Serve functions must return at their first wait.
    /// </remarks>
    /// <param name="endpoint">The option and address it listens on, for the message when it cannot ("--portserver-address @x").</param>
    public static AcceptLoop Start(Socket socket, Func<Socket, UnixSocketFile?> bind, int backlog, Func<Socket, CancellationToken, Task> serve, string endpoint, ILogger logger)
    {
        UnixSocketFile? socketFile = null;
        try
        {
            socketFile = bind(socket);
            socket.Listen(backlog);
            return new AcceptLoop(socket, socketFile, serve, logger);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            socketFile?.Dispose();
            throw new IOException($"cannot listen on {endpoint}: {e.Message}; another program holds that address (ss -xlp or ss -tlp names it): stop it, or choose another address", e);
        }
        catch
        {
            socket.Dispose();
            socketFile?.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            // Wakes a thread blocked in accept(2) (it returns EINVAL on a shut-down listener).
            _listener.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _listener.Dispose();
        await _loop.ConfigureAwait(false);
        await _served.DrainAsync().ConfigureAwait(false);
        _socketFile?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Serves one accepted socket; the serve function handles its own failures.</summary>
    private async Task ServeAsync(Socket accepted)
    {
        try
        {
            await _serve(accepted, _stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _served.Exit();
        }
    }

    private Task RunOnOwnThread()
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                AcceptUntilStopped();
            }
            finally
            {
                finished.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "portreserved accept",
        };
        thread.UnsafeStart();
        return finished.Task;
    }

    private void AcceptUntilStopped()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = _listener.Accept();
            }
            catch (Exception e) when (e is ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                DaemonLog.AcceptFailed(_logger, e.SocketErrorCode.ToString());
                Thread.Sleep(50);
                continue;
            }

            _served.Enter();
            _ = ServeAsync(accepted);
        }
    }
}
