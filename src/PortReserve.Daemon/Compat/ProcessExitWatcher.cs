using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Processes;

namespace PortReserve.Daemon.Compat;

/// <summary>
/// Calls back when watched processes exit. Each process is a pidfd registered with one epoll instance, waited on by a
/// single thread; an eventfd wakes it for shutdown. No polling of /proc, and a reused pid cannot keep a watch alive.
/// </summary>
internal sealed class ProcessExitWatcher : IDisposable
{
    private readonly SafeFileHandle _epoll;
    private readonly SafeFileHandle _wake;
    private readonly ConcurrentDictionary<long, (SafeFileHandle Pidfd, Action Exited)> _watches = new();
    private readonly Thread _thread;
    private long _nextId;
    private volatile bool _stopping;

    public ProcessExitWatcher()
    {
        _epoll = Libc.EpollCreate(Libc.EPOLL_CLOEXEC);
        _wake = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        if (_epoll.IsInvalid || _wake.IsInvalid)
        {
            throw new InvalidOperationException($"cannot create the process watcher (errno {Marshal.GetLastPInvokeError()})");
        }

        Register(_wake, id: 0);
        _thread = new Thread(Run) { IsBackground = true, Name = "portserver process watcher" };
        _thread.Start();
    }

    public int Count => _watches.Count;

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

    /// <summary>Watches an open pidfd; <paramref name="exited"/> runs once, on the watcher thread, when the process is gone.</summary>
    public void Watch(SafeFileHandle pidfd, Action exited)
    {
        long id = Interlocked.Increment(ref _nextId);
        _watches[id] = (pidfd, exited);
        Register(pidfd, id);
    }

    public void Dispose()
    {
        _stopping = true;
        unsafe
        {
            ulong one = 1;
            Libc.Write(_wake, (byte*)&one, sizeof(ulong));
        }

        _thread.Join();
        foreach ((SafeFileHandle pidfd, Action _) in _watches.Values)
        {
            pidfd.Dispose();
        }

        _epoll.Dispose();
        _wake.Dispose();
    }

    private unsafe void Register(SafeFileHandle target, long id)
    {
        byte* epollEvent = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(epollEvent, 4), Libc.EPOLLIN);
        BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(epollEvent + Libc.EpollEventSize - 8, 8), id);
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, target, epollEvent) != 0)
        {
            throw new InvalidOperationException($"cannot watch a process (epoll_ctl errno {Marshal.GetLastPInvokeError()})");
        }
    }

    private unsafe void Run()
    {
        const int Batch = 64;
        byte* events = stackalloc byte[Batch * 16];
        while (!_stopping)
        {
            int ready = Libc.EpollWait(_epoll, events, Batch, -1);
            for (int i = 0; i < ready; i++)
            {
                long id = BinaryPrimitives.ReadInt64LittleEndian(new Span<byte>(events + (i * Libc.EpollEventSize) + Libc.EpollEventSize - 8, 8));
                if (id != 0 && _watches.TryRemove(id, out (SafeFileHandle Pidfd, Action Exited) watch))
                {
                    // Closing the pidfd also takes it out of the epoll set.
                    watch.Pidfd.Dispose();
                    watch.Exited();
                }
            }
        }
    }
}
