using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Processes;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Compat;

/// <summary>
/// Calls back when watched processes exit. Each process is a pidfd watched by the daemon's event loop, which calls back
/// on its thread: no polling of /proc, and a reused pid cannot keep a watch alive.
/// </summary>
internal sealed class ProcessExitWatcher(EventLoop loop) : IDisposable
{
    private readonly EventLoop _loop = loop;
    private readonly HashSet<Watched> _watches = [];
    private bool _disposed;

    /// <summary>
    /// Opens a pidfd for <paramref name="pid"/> when it is a user process, one that will exit some day; null (and why
    /// not) when no such process exists or it is a kernel thread, which never exits and would hold its ports for good.
    /// </summary>
    public static SafeFileHandle? TryOpenUserProcess(int pid, out string? why)
    {
        SafeFileHandle pidfd = Libc.PidfdOpen(pid, 0);
        if (pidfd.IsInvalid)
        {
            pidfd.Dispose();
            why = $"no process has pid {pid}";
            return null;
        }

        // The flags are read by pid, so they count only if the pidfd's process still holds that pid afterwards.
        bool? kernelThread = ProcessStat.IsKernelThread(pid);
        if (kernelThread is false && Libc.PidfdIsAlive(pidfd))
        {
            why = null;
            return pidfd;
        }

        pidfd.Dispose();
        why = kernelThread is true ? $"pid {pid} is a kernel thread, which never exits" : $"no process has pid {pid}";
        return null;
    }

    /// <summary>
    /// Watches an open pidfd, which it owns from now on; <paramref name="exited"/> runs once, on the event loop's thread,
    /// when the process is gone (at once when it is gone already).
    /// </summary>
    public void Watch(SafeFileHandle pidfd, Action exited) => _loop.Post(() =>
    {
        if (_disposed || pidfd.IsClosed)
        {
            pidfd.Dispose();
            return;
        }

        var watch = new Watched(this, pidfd, exited);
        try
        {
            watch.Slot = _loop.Add(pidfd, Libc.EPOLLIN, watch);
        }
        catch
        {
            // Unwatched, the process's ports would be held for good: they go now, as if it had exited (the loop logs why).
            pidfd.Dispose();
            exited();
            throw;
        }

        _watches.Add(watch);
    });

    /// <summary>Stops watching, and closes every pidfd still watched.</summary>
    public void Dispose()
    {
        _loop.Invoke(() =>
        {
            _disposed = true;
            foreach (Watched watch in _watches)
            {
                watch.Unwatch();
            }

            _watches.Clear();
        });
    }

    /// <summary>One watched process: its pidfd is readable once it has exited.</summary>
    private sealed class Watched(ProcessExitWatcher watcher, SafeFileHandle pidfd, Action exited) : EventLoop.IReadyHandler
    {
        public int Slot { get; set; }

        public void OnReady(int events)
        {
            // A wakeup that is not the exit (a slot reused within a turn) changes nothing.
            if (!pidfd.IsClosed && !Libc.PidfdHasExited(pidfd))
            {
                return;
            }

            if (watcher._watches.Remove(this))
            {
                Unwatch();
                exited();
            }
        }

        /// <summary>
        /// Takes the pidfd out of the epoll set and closes it. Closing takes it out as well: when someone else closed it,
        /// or epoll_ctl failed, only the slot is freed.
        /// </summary>
        public void Unwatch()
        {
            try
            {
                if (pidfd.IsClosed)
                {
                    watcher._loop.Forget(Slot);
                }
                else
                {
                    watcher._loop.Remove(Slot, pidfd);
                }
            }
            catch (IOException)
            {
                watcher._loop.Forget(Slot);
            }
            finally
            {
                pidfd.Dispose();
            }
        }
    }
}
