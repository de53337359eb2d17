using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace PortReserve.Daemon.Server;

/// <summary>
/// An endpoint whose connections are each served by an asynchronous function (the portserver, the metrics): accepted
/// on the event loop (<see cref="Acceptor"/>), each served with the stop token, and tracked. Disposing stops accepting,
/// signals stop, waits for everything being served, and removes the socket file.
/// </summary>
/// <remarks>
/// A serve function starts on the loop's thread and must return at its first wait: for an endpoint whose request
/// arrives with the connection and is answered without waiting (the portserver), that costs no thread hop at all.
/// </remarks>
internal sealed class AsyncEndpoint : IAsyncDisposable
{
    private readonly EventLoop _loop;
    private readonly UnixSocketFile? _socketFile;
    private readonly Func<Socket, CancellationToken, Task> _serve;
    private readonly CancellationTokenSource _stopping = new();
    private readonly InFlight _served = new();
    private Acceptor? _acceptor;

    private AsyncEndpoint(EventLoop loop, UnixSocketFile? socketFile, Func<Socket, CancellationToken, Task> serve)
    {
        _loop = loop;
        _socketFile = socketFile;
        _serve = serve;
    }

    /// <summary>
    /// Binds <paramref name="socket"/> with <paramref name="bind"/> (which returns the socket file it created, if any),
    /// listens, and serves what it accepts. On failure the socket is closed and only a file this bind created is removed.
    /// </summary>
    /// <param name="endpoint">The option and address it listens on, for the message when it cannot ("--portserver-address @x").</param>
    public static AsyncEndpoint Start(EventLoop loop, Socket socket, Func<Socket, UnixSocketFile?> bind, int backlog, Func<Socket, CancellationToken, Task> serve, string endpoint, ILogger logger)
    {
        UnixSocketFile? socketFile = null;
        try
        {
            socketFile = bind(socket);
            socket.Listen(backlog);
            var started = new AsyncEndpoint(loop, socketFile, serve);
            started._acceptor = loop.Invoke(() => new Acceptor(loop, socket, started.Serve, logger));
            return started;
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
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(() =>
        {
            try
            {
                _acceptor?.Stop();
            }
            finally
            {
                stopped.TrySetResult();
            }
        });
        await stopped.Task.ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _served.DrainAsync().ConfigureAwait(false);
        _socketFile?.Dispose();
        _stopping.Dispose();
    }

    private void Serve(Socket accepted)
    {
        _served.Enter();
        _ = ServeAsync(accepted);
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
}
