using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;

namespace PortReserve.Daemon.Server;

/// <summary>
/// One thread that serves descriptors as they become ready (epoll, level-triggered), runs work other threads post to
/// it, and ends every turn with <see cref="TurnEnded"/>. Whatever a turn's handlers do runs on this thread, one at a
/// time, so they share state without locks and answer without crossing to another thread. Work that may block (an
/// fsync, a name service lookup) belongs elsewhere; it posts its outcome back.
/// </summary>
internal sealed class EventLoop : IDisposable
{
    private const int MaxEventsPerTurn = 256;
    private const long WakeSlot = -1;

    private readonly SafeFileHandle _epoll;
    private readonly SafeFileHandle _wake;
    private readonly ConcurrentQueue<Action> _posted = new();
    private readonly List<IReadyHandler?> _slots = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private int _wakePending;
    private volatile bool _stopping;
    private volatile bool _stopped;

    public EventLoop(string name, ILogger logger)
    {
        _logger = logger;
        _epoll = Libc.EpollCreate(Libc.EPOLL_CLOEXEC);
        _wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_epoll.IsInvalid || _wake.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            _wake.Dispose();
            throw new InvalidOperationException($"cannot create the {name} event loop: {Libc.Describe(errno)}");
        }

        Control(Libc.EPOLL_CTL_ADD, _wake, Libc.EPOLLIN, WakeSlot);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>A descriptor's owner: told which events are ready, on the loop's thread.</summary>
    internal interface IReadyHandler
    {
        void OnReady(int events);
    }

    /// <summary>Runs on the loop's thread after each turn's ready handlers and posted work.</summary>
    public event Action? TurnEnded;

    public void Start() => _thread.Start();

    /// <summary>Watches <paramref name="descriptor"/> for <paramref name="events"/>; returns the registration for <see cref="Change"/> and <see cref="Remove"/>.</summary>
    public int Add(SafeHandle descriptor, int events, IReadyHandler handler)
    {
        int slot;
        if (_freeSlots.TryPop(out slot))
        {
            _slots[slot] = handler;
        }
        else
        {
            slot = _slots.Count;
            _slots.Add(handler);
        }

        try
        {
            Control(Libc.EPOLL_CTL_ADD, descriptor, events, slot);
        }
        catch
        {
            Forget(slot);
            throw;
        }

        return slot;
    }

    public void Change(int slot, SafeHandle descriptor, int events) => Control(Libc.EPOLL_CTL_MOD, descriptor, events, slot);

    /// <summary>Stops watching; call before the descriptor is closed.</summary>
    public void Remove(int slot, SafeHandle descriptor)
    {
        Control(Libc.EPOLL_CTL_DEL, descriptor, 0, slot);
        Forget(slot);
    }

    /// <summary>Frees the registration of a descriptor closed already (closing took it out of the epoll set).</summary>
    public void Forget(int slot)
    {
        _slots[slot] = null;
        _freeSlots.Push(slot);
    }

    /// <summary>True on the loop's own thread.</summary>
    public bool IsCurrent => Thread.CurrentThread == _thread;

    /// <summary>True while the <see cref="TurnEnded"/> handlers run (on the loop's thread): what they start waits for the next turn.</summary>
    public bool EndingTurn { get; private set; }

    /// <summary>
    /// Runs <paramref name="work"/> on the loop's thread in its next turn; callable from any thread. Work posted as the
    /// loop stops runs on the thread that stopped it, and once it stopped, on the caller's: posted work always runs.
    /// </summary>
    public void Post(Action work)
    {
        _posted.Enqueue(work);
        if (_stopped)
        {
            // Dispose drained the queue already (or just before this was queued): nothing else will run it.
            RunPosted();
            return;
        }

        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            Wake();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the loop's thread and waits for it, returning what it returns or throwing what it
    /// throws: for the threads that start and stop the daemon's parts (on the loop itself it just runs).
    /// </summary>
    public T Invoke<T>(Func<T> work)
    {
        if (IsCurrent)
        {
            return work();
        }

        T? result = default;
        ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        Post(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result!;
    }

    /// <summary>As the other, for work that returns nothing.</summary>
    public void Invoke(Action work) => Invoke(() =>
    {
        work();
        return true;
    });

    /// <summary>Ends the loop after its current turn and waits for its thread.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            Wake();
            _thread.Join();
        }

        _stopped = true;
        RunPosted();

        _epoll.Dispose();
        _wake.Dispose();
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        Libc.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    private unsafe void Control(int operation, SafeHandle descriptor, int events, long slot)
    {
        byte* epollEvent = stackalloc byte[Libc.EpollEventSize];
        BinaryPrimitives.WriteInt32LittleEndian(new Span<byte>(epollEvent, 4), events);
        BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(epollEvent + Libc.EpollEventDataOffset, 8), slot);
        if (Libc.EpollCtl(_epoll, operation, descriptor, epollEvent) != 0)
        {
            throw new IOException($"epoll_ctl: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    private unsafe void Run()
    {
        int eventSize = Libc.EpollEventSize;
        byte* events = stackalloc byte[MaxEventsPerTurn * eventSize];
        while (!_stopping)
        {
            int ready = Libc.EpollWait(_epoll, events, MaxEventsPerTurn, -1);
            if (ready < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    DaemonLog.EventLoopFailed(_logger, Libc.Describe(errno));
                    Thread.Sleep(10);
                }

                continue;
            }

            for (int i = 0; i < ready; i++)
            {
                byte* readyEvent = events + (i * eventSize);
                long slot = BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(readyEvent + Libc.EpollEventDataOffset, 8));
                if (slot == WakeSlot)
                {
                    ulong count;
                    Libc.Read(_wake, (byte*)&count, sizeof(ulong));
                    continue;
                }

                // A handler removed earlier in this turn may still have an event here: its slot is empty, or reused by a
                // new handler, which sees a spurious wakeup (its calls are non-blocking, so it finds nothing to do).
                if (_slots[(int)slot] is { } handler)
                {
                    Guarded(handler, BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(readyEvent, 4)));
                }
            }

            RunPosted();
            EndingTurn = true;
            try
            {
                TurnEnded?.Invoke();
            }
            catch (Exception e)
            {
                DaemonLog.EventLoopHandlerFailed(_logger, e);
            }
            finally
            {
                EndingTurn = false;
            }
        }
    }

    private void Guarded(IReadyHandler handler, int events)
    {
        try
        {
            handler.OnReady(events);
        }
        catch (Exception e)
        {
            // A bug in one handler must not stop the loop that serves everyone else.
            DaemonLog.EventLoopHandlerFailed(_logger, e);
        }
    }

    private void RunPosted()
    {
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out Action? work))
        {
            Guarded(work);
        }
    }

    private void Guarded(Action work)
    {
        try
        {
            work();
        }
        catch (Exception e)
        {
            DaemonLog.EventLoopHandlerFailed(_logger, e);
        }
    }
}
