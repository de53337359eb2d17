using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Keeps <c>net.ipv4.ip_local_reserved_ports</c> equal to the table's ports plus the system exclusions. Pure additions
/// are OR-ed into the list; anything else rewrites it whole after re-reading it, so entries an administrator added by
/// hand are kept and reported as discovered. The owned-ports record is written before the list, so a daemon killed at
/// any moment removes only its own entries at its next start.
/// </summary>
internal sealed class ReservedPortsSink : IKernelSink
{
    public const string DefaultPath = "/proc/sys/net/ipv4/ip_local_reserved_ports";

    private readonly SafeFileHandle? _handle;
    private readonly OwnedPortsRecord _record;
    private readonly SafeFileHandle? _readHandle;
    private readonly List<int> _chunkEnds = [];
    private byte[] _readBuffer = new byte[4096];
    private byte[] _writeBuffer = new byte[4096];

    // What the kernel list holds (when known), which of it is the daemon's, and what the record covers.
    private readonly PortSet _lastWritten = new();
    private readonly PortSet _lastOwned = new();
    private readonly PortSet _recorded = new();
    private readonly PortSet _scratch = new();
    private bool _lastWrittenKnown;

    private ReservedPortsSink(KernelSyncMode mode, string path, SafeFileHandle? handle, SafeFileHandle? readHandle, string detail, OwnedPortsRecord record)
    {
        Mode = mode;
        Name = path;
        _handle = handle;
        _readHandle = readHandle;
        Detail = detail;
        _record = record;
    }

    public KernelSyncMode Mode { get; }

    public string Name { get; }

    public bool IsActive => _handle is not null;

    /// <summary>Why sync is on or off, for status and logs.</summary>
    public string Detail { get; }

    /// <summary>
    /// Opens the list per <paramref name="mode"/> and reads it. Returns the sink and the system exclusions: the entries
    /// the daemon did not write, per the owned-ports record and <paramref name="daemonPorts"/> (restored persistent blocks,
    /// the daemon's even when the record was lost). The daemon's other entries are stale: the first write drops them.
    /// </summary>
    public static (ReservedPortsSink Sink, PortSet SystemExclusions) Open(KernelSyncMode mode, string path, OwnedPortsRecord record, PortSet daemonPorts, ILogger logger)
    {
        SafeFileHandle? handle = null;
        string detail = "off (--kernel-sync off)";
        if (mode != KernelSyncMode.Off)
        {
            handle = OpenForWriting(mode, path, logger, out string? failure);
            detail = handle is null ? $"off: {path} is not writable ({failure}); reservations are not enforced in the kernel" : $"on, writing {path}";
        }

        SafeFileHandle? readHandle = OpenForReading(path, logger);
        var sink = new ReservedPortsSink(mode, path, handle, readHandle, detail, record);
        return (sink, sink.TakeOver(daemonPorts, logger));
    }

    public void Apply(KernelSnapshot snapshot)
    {
        try
        {
            Write(snapshot.All, snapshot.Reserved, snapshot.Discovered);
        }
        catch
        {
            _lastWrittenKnown = false;
            throw;
        }
    }

    public bool Drifted()
    {
        if (!_lastWrittenKnown)
        {
            return true;
        }

        try
        {
            KernelPortList.ReadInto(_readHandle ?? throw new IOException($"{Name} is not readable"), ref _readBuffer, _scratch);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return false;
        }

        if (_scratch.SetEquals(_lastWritten))
        {
            return false;
        }

        // The next write re-reads the list whole: entries added meanwhile become system exclusions, ours come back.
        _lastWrittenKnown = false;
        return true;
    }

    /// <summary>True when the kernel list holds exactly <paramref name="expected"/>; null when sync is off or the list is unreadable.</summary>
    public bool? KernelListEquals(PortSet expected)
    {
        if (!IsActive)
        {
            return null;
        }

        try
        {
            // Its own handle and buffer: the writer's belong to whoever holds the write.
            using SafeFileHandle handle = File.OpenHandle(Name, FileMode.Open, FileAccess.Read);
            byte[] buffer = new byte[4096];
            return KernelPortList.Read(handle, ref buffer).SetEquals(expected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Once a reconcile tick: the record shrinks to what the kernel holds of the daemon's (<see cref="ShrinkRecord"/>).</summary>
    public void Maintain() => ShrinkRecord();

    public void Dispose()
    {
        ShrinkRecord();
        _handle?.Dispose();
        _readHandle?.Dispose();
        _record.Dispose();
    }

    /// <summary>
    /// Writes only make the record grow, so that it covers the daemon's entries while the kernel list changes; it falls
    /// back to exactly the daemon's entries once a write has succeeded, between writes (each tick and at the stop). A
    /// record left larger would make the next daemon, or --release-kernel, take out entries an administrator added
    /// meanwhile on ports the daemon had released.
    /// </summary>
    private void ShrinkRecord()
    {
        if (_lastWrittenKnown && !_recorded.SetEquals(_lastOwned))
        {
            _record.Save(_lastOwned);
            _recorded.CopyFrom(_lastOwned);
        }
    }

    private static SafeFileHandle? OpenForWriting(KernelSyncMode mode, string path, ILogger logger, out string? failure)
    {
        try
        {
            failure = null;
            return File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (mode == KernelSyncMode.On)
            {
                throw new InvalidOperationException($"--kernel-sync on, but {path} is not writable ({e.Message}); run portreserved as root in this network namespace, or use --kernel-sync auto|off", e);
            }

            failure = e.Message;
            DaemonLog.KernelSyncUnavailable(logger, path, e.Message);
            return null;
        }
    }

    private static SafeFileHandle? OpenForReading(string path, ILogger logger)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without the list there are no system exclusions to honour; sync (if on) could not open it either.
            DaemonLog.KernelListUnreadable(logger, path, e.Message);
            return null;
        }
    }

    /// <summary>Reads the list as the daemon starts; returns the entries that are not the daemon's (system exclusions).</summary>
    private PortSet TakeOver(PortSet daemonPorts, ILogger logger)
    {
        PortSet current = _readHandle is null ? new PortSet() : KernelPortList.Read(_readHandle, ref _readBuffer);
        PortSet owned = _record.Load();
        owned.UnionWith(daemonPorts);

        // The kernel holds what was just read; the daemon's part of it is stale until the first write.
        _lastWritten.CopyFrom(current);
        _lastOwned.CopyFrom(current);
        _lastOwned.IntersectWith(owned);
        _recorded.CopyFrom(owned);
        _lastWrittenKnown = true;
        current.ExceptWith(owned);

        // What the first write takes away: the daemon's entries that no restored reservation still wants.
        var stale = new PortSet();
        stale.CopyFrom(_lastOwned);
        stale.ExceptWith(daemonPorts);
        if (!stale.IsEmpty)
        {
            DaemonLog.RemovingStaleEntries(logger, KernelPortList.Format(stale));
        }

        if (!current.IsEmpty)
        {
            DaemonLog.SystemExclusionsFound(logger, KernelPortList.Format(current));
        }

        return current;
    }

    private void Write(PortSet desired, PortSet owned, PortSet discovered)
    {
        // 1. The record must cover every entry of ours the kernel may hold during and after this write.
        RecordCovering(owned);

        // 2. Pure additions are OR-ed in with a write at a non-zero offset: no moment where other entries vanish.
        if (_lastWrittenKnown && desired.IsSupersetOf(_lastWritten))
        {
            _scratch.CopyFrom(desired);
            _scratch.ExceptWith(_lastWritten);
            if (!_scratch.IsEmpty)
            {
                WriteChunks(_scratch, startOffset: 1);
            }
        }
        else
        {
            // 3. Anything else rewrites the list whole; entries someone added since our last write are kept. Not those
            //    the record names: a write cut short (a chunk the kernel refused) may have left ours the last complete
            //    write did not hold, and taking them for someone else's would keep them, as nobody's, for good.
            KernelPortList.ReadInto(_readHandle ?? throw new IOException($"{Name} is not readable"), ref _readBuffer, discovered);
            discovered.ExceptWith(_lastWritten);
            discovered.ExceptWith(_recorded);
            desired.UnionWith(discovered);
            WriteChunks(desired, startOffset: 0);
        }

        _lastWritten.CopyFrom(desired);
        _lastOwned.CopyFrom(owned);
        _lastWrittenKnown = true;
    }

    private void RecordCovering(PortSet owned)
    {
        _scratch.CopyFrom(_lastOwned);
        _scratch.UnionWith(owned);
        if (!_recorded.IsSupersetOf(_scratch))
        {
            _record.Save(_scratch);
            _recorded.CopyFrom(_scratch);
        }
    }

    private void WriteChunks(PortSet ports, long startOffset)
    {
        // A write at offset 0 replaces the kernel's list; each later offset ORs into it (proc_do_large_bitmap).
        SafeFileHandle handle = _handle ?? throw new InvalidOperationException($"{Name} is not open for writing (kernel sync is off)");
        KernelPortList.FormatChunks(ports, ref _writeBuffer, _chunkEnds);
        int chunkStart = 0;
        foreach (int chunkEnd in _chunkEnds)
        {
            RandomAccess.Write(handle, _writeBuffer.AsSpan(chunkStart, chunkEnd - chunkStart), startOffset + chunkStart);
            chunkStart = chunkEnd;
        }
    }
}
