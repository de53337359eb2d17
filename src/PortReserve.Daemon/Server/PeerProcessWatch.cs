using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Watches, on the event loop, the process that opened a connection, through its pidfd: when it exits the connection
/// may live on (a child inherited it) but speaks for nobody's process any more, so the rights the daemon gave that
/// process are taken back (<paramref name="exited"/>), and no new ones are given: its pid may soon be another's.
/// </summary>
internal sealed class PeerProcessWatch(EventLoop loop, SafeFileHandle? pidfd, int pid, Action exited) : EventLoop.IReadyHandler, IDisposable
{
    private int _slot = -1;
    private bool _gone = pidfd is null;

    /// <summary>Watches from now on; a process already gone is reported at the loop's next turn.</summary>
    public void Start()
    {
        if (pidfd is not null)
        {
            _slot = loop.Add(pidfd, Libc.EPOLLIN, this);
        }
    }

    /// <summary>
    /// Why process rights (a bind right, a process tree) may not be given on this connection, or null while its process
    /// lives. Asks the kernel, not only the watch, since its report may still be on its way.
    /// </summary>
    public Refusal? RefusalIfGone()
    {
        if (!_gone && pidfd is not null && !Libc.PidfdHasExited(pidfd))
        {
            return null;
        }

        return new Refusal(
            PortReservationErrorKind.AccessDenied,
            $"the process that opened this connection (pid {pid}) has exited, and its pid may be another process's now: a connection gives rights to bind only to the process that opened it. Connect again from the process that will bind");
    }

    public void OnReady(int events)
    {
        // A slot freed and reused in one turn can bring another descriptor's event here: only the pidfd itself says the
        // process exited (a zombie has: it speaks for nobody, though it still holds its pid).
        if (_gone || pidfd is null || !Libc.PidfdHasExited(pidfd))
        {
            return;
        }

        _gone = true;
        Unwatch();
        exited();
    }

    public void Dispose()
    {
        Unwatch();
        pidfd?.Dispose();
    }

    /// <summary>Stops watching (the connection is closing, so its process's exit is no news); the pidfd stays open for requests still being served.</summary>
    public void Unwatch()
    {
        if (_slot >= 0 && pidfd is not null)
        {
            loop.Remove(_slot, pidfd);
            _slot = -1;
        }
    }
}
