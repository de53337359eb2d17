using System.Diagnostics;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

internal sealed partial class KernelPortSync
{
    // Writer-only state: what the kernel list holds from us, and what the owned-ports record covers.
    private readonly PortSet _desired = new();
    private readonly PortSet _owned = new();
    private readonly PortSet _lastWritten = new();
    private readonly PortSet _lastOwned = new();
    private readonly PortSet _recorded = new();
    private readonly PortSet _scratch = new();
    private bool _lastWrittenKnown;

    private async Task RunWriterAsync()
    {
        while (await _signal.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _signal.Reader.TryRead(out _);

            // A failed attempt means an inline write is in progress; it kicks again when it leaves anything waiting.
            while (HasWaiters && TryWriteRound())
            {
            }
        }
    }

    private bool HasWaiters
    {
        get
        {
            lock (_waiters)
            {
                return _waiters.Count > 0;
            }
        }
    }

    /// <summary>One write covering every change requested so far, if no other write is in progress.</summary>
    private bool TryWriteRound()
    {
        if (Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
        {
            return false;
        }

        try
        {
            long generation;
            lock (_gate)
            {
                generation = Interlocked.Read(ref _requested);
                _table.CopyKernelPorts(_desired);
                _table.CopyReservedPorts(_owned);
            }

            Exception? failure = null;
            try
            {
                long started = Stopwatch.GetTimestamp();
                WriteOnce();
                TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
                Metrics?.OnKernelWrite(elapsed);
                DaemonLog.KernelListWritten(_logger, generation, elapsed.TotalMilliseconds);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
            {
                _lastWrittenKnown = false;
                failure = e;
                DaemonLog.KernelWriteFailed(_logger, Path, e);
            }

            Complete(generation, failure);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }

        // Whoever queued behind this write while it ran is written next, by the background writer.
        if (HasWaiters)
        {
            Kick();
        }

        return true;
    }

    private void WriteOnce()
    {
        // 1. The record must cover every entry of ours the kernel may hold during and after this write.
        _scratch.CopyFrom(_lastOwned);
        _scratch.UnionWith(_owned);
        if (!_recorded.IsSupersetOf(_scratch))
        {
            _record.Save(_scratch);
            _recorded.CopyFrom(_scratch);
        }

        // 2. Pure additions are OR-ed in with a write at a non-zero offset: no moment where other entries vanish.
        if (_lastWrittenKnown && _desired.IsSupersetOf(_lastWritten))
        {
            _scratch.CopyFrom(_desired);
            _scratch.ExceptWith(_lastWritten);
            if (!_scratch.IsEmpty)
            {
                WriteChunks(_scratch, startOffset: 1);
            }
        }
        else
        {
            AdoptExternalEntries();
            WriteChunks(_desired, startOffset: 0);
        }

        _lastWritten.CopyFrom(_desired);
        _lastOwned.CopyFrom(_owned);
        _lastWrittenKnown = true;
    }

    /// <summary>Entries someone else added to the list since our last write become system exclusions, never dropped.</summary>
    private void AdoptExternalEntries()
    {
        PortSet external = ReadKernelListOrThrow();
        external.ExceptWith(_lastWritten);
        if (external.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            _table.AddSystemExclusions(external);
        }

        _desired.UnionWith(external);
        DaemonLog.SystemExclusionsFound(_logger, KernelPortList.Format(external));
        _scratch.CopyFrom(_lastOwned);
        _scratch.UnionWith(_owned);
        _record.Save(_scratch);
        _recorded.CopyFrom(_scratch);
    }

    private void WriteChunks(PortSet ports, long startOffset)
    {
        // A write at offset 0 replaces the kernel's list; each later offset ORs into it (proc_do_large_bitmap).
        long offset = startOffset;
        foreach (byte[] chunk in KernelPortList.FormatChunks(ports))
        {
            RandomAccess.Write(_handle!, chunk, offset);
            offset += chunk.Length;
        }
    }

    private void Complete(long generation, Exception? failure)
    {
        lock (_waiters)
        {
            while (_waiters.TryPeek(out (long Generation, TaskCompletionSource Done) waiter) && waiter.Generation <= generation)
            {
                _waiters.Dequeue();
                if (failure is null)
                {
                    waiter.Done.SetResult();
                }
                else
                {
                    waiter.Done.SetException(failure);
                }
            }
        }
    }
}
