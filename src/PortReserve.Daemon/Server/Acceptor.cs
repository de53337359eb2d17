using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PortReserve.Interop;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The daemon's one accept path: a listening socket served by the event loop, for every endpoint. The discipline: each
/// turn it is ready, accept a bounded number (serving open connections goes on between turns); a peer that vanished
/// mid-accept is skipped; any other error (out of descriptors, most likely) pauses accepting for a moment rather than
/// spin on a listener that stays ready. Accepted sockets are blocking and close-on-exec, and go to the owner's callback
/// on the loop's thread. Made, and stopped, on the loop's thread (<see cref="EventLoop.Invoke"/> from another).
/// </summary>
internal sealed class Acceptor : EventLoop.IReadyHandler
{
    private const int AcceptsPerTurn = 64;
    private static readonly TimeSpan s_pause = TimeSpan.FromMilliseconds(50);

    private readonly EventLoop _loop;
    private readonly Socket _listener;
    private readonly Action<Socket> _accepted;
    private readonly ILogger _logger;
    private readonly int _slot;
    private bool _stopped;

    /// <summary>Starts accepting on <paramref name="listener"/> (listening already), which it owns from now on.</summary>
    public Acceptor(EventLoop loop, Socket listener, Action<Socket> accepted, ILogger logger)
    {
        _loop = loop;
        _listener = listener;
        _accepted = accepted;
        _logger = logger;
        listener.Blocking = false;
        _slot = loop.Add(listener.SafeHandle, Libc.EPOLLIN, this);
    }

    /// <summary>Stops accepting and closes the listener; on the loop's thread.</summary>
    public void Stop()
    {
        if (!_stopped)
        {
            _stopped = true;
            try
            {
                _loop.Remove(_slot, _listener.SafeHandle);
            }
            finally
            {
                _listener.Dispose();
            }
        }
    }

    public void OnReady(int events)
    {
        for (int i = 0; i < AcceptsPerTurn && !_stopped; i++)
        {
            int accepted;
            unsafe
            {
                accepted = Libc.Accept(_listener.SafeHandle, null, null, Libc.SOCK_CLOEXEC);
            }

            if (accepted >= 0)
            {
                _accepted(new Socket(new SafeSocketHandle(accepted, ownsHandle: true)));
                continue;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN)
            {
                return;
            }

            if (errno is not (Libc.EINTR or Libc.ECONNABORTED))
            {
                DaemonLog.AcceptFailed(_logger, Libc.Describe(errno));
                _loop.Change(_slot, _listener.SafeHandle, 0);
                _ = ResumeAsync();
                return;
            }
        }
    }

    private async Task ResumeAsync()
    {
        await Task.Delay(s_pause).ConfigureAwait(false);
        _loop.Post(() =>
        {
            if (!_stopped)
            {
                _loop.Change(_slot, _listener.SafeHandle, Libc.EPOLLIN);
            }
        });
    }
}
