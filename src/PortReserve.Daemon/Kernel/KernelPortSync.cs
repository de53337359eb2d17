using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Keeps <c>ip_local_reserved_ports</c> equal to the table's ports plus the system exclusions. Changes are coalesced
/// (group commit): callers mutate the table under the service gate, take a <see cref="KernelCommit"/> under the same
/// gate, and wait for it. A waiter that finds no write in progress writes at once on its own thread (the common,
/// uncontended case costs no thread hop); waiters that arrive during a write are all covered by the next one, which
/// the background writer makes.
/// </summary>
internal sealed partial class KernelPortSync : IAsyncDisposable
{
    public const string DefaultPath = "/proc/sys/net/ipv4/ip_local_reserved_ports";

    private readonly Lock _gate;
    private readonly ReservationTable _table;
    private readonly OwnedPortsRecord _record;
    private readonly ILogger _logger;
    private readonly SafeFileHandle? _handle;
    private SafeFileHandle? _readHandle;
    private byte[] _readBuffer = new byte[4096];
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Queue<(long Generation, TaskCompletionSource Done)> _waiters = new();
    private long _requested;
    private int _writing;
    private Task _writer = Task.CompletedTask;

    private KernelPortSync(KernelSyncMode mode, string path, SafeFileHandle? handle, string detail, Lock gate, ReservationTable table, OwnedPortsRecord record, ILogger logger)
    {
        Mode = mode;
        Path = path;
        _handle = handle;
        Detail = detail;
        _gate = gate;
        _table = table;
        _record = record;
        _logger = logger;
    }

    public KernelSyncMode Mode { get; }

    public string Path { get; }

    /// <summary>True when the daemon writes the kernel list.</summary>
    public bool Active => _handle is not null;

    /// <summary>Why sync is on or off, for status and logs.</summary>
    public string Detail { get; }

    /// <summary>Where write counts and durations go, if anywhere.</summary>
    public Metrics.DaemonMetrics? Metrics { get; set; }

    /// <summary>
    /// Opens the kernel list per <paramref name="mode"/>, reads it, and moves every entry the daemon did not write
    /// (per the owned-ports record) into the table as system exclusions.
    /// </summary>
    public static KernelPortSync Open(KernelSyncMode mode, string path, Lock gate, ReservationTable table, OwnedPortsRecord record, ILogger logger)
    {
        SafeFileHandle? handle = null;
        string detail;
        if (mode == KernelSyncMode.Off)
        {
            detail = "off (--kernel-sync off)";
        }
        else
        {
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
                detail = $"on, writing {path}";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (mode == KernelSyncMode.On)
                {
                    throw new InvalidOperationException($"--kernel-sync on, but {path} is not writable ({e.Message}); run portreserved as root in this network namespace, or use --kernel-sync auto|off");
                }

                detail = $"off: {path} is not writable ({e.Message}); reservations are not enforced in the kernel";
                DaemonLog.KernelSyncUnavailable(logger, path, e.Message);
            }
        }

        var sync = new KernelPortSync(mode, path, handle, detail, gate, table, record, logger);
        sync.AdoptSystemExclusions();
        return sync;
    }

    /// <summary>Starts the writer and applies the initial state (stale entries removed, reservations present).</summary>
    public async Task StartAsync()
    {
        _writer = Task.Run(RunWriterAsync);
        KernelCommit initial;
        lock (_gate)
        {
            initial = RequestCommit();
        }

        await initial.WaitAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Asks for the table's current state to reach the kernel. Call under the service gate, right after changing the
    /// table, then wait for or forget the returned commit outside the gate.
    /// </summary>
    public KernelCommit RequestCommit()
    {
        if (!Active)
        {
            return default;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Enqueue((++_requested, done));
        }

        return new KernelCommit(this, done.Task);
    }

    /// <summary>Writes now when no write is in progress (the write covers <paramref name="done"/>'s change); otherwise queues it.</summary>
    internal ValueTask WaitAsync(Task done)
    {
        if (!done.IsCompleted && !TryWriteRound())
        {
            Kick();
        }

        return new ValueTask(done);
    }

    /// <summary>Wakes the background writer.</summary>
    internal void Kick() => _signal.Writer.TryWrite(true);

    /// <summary>True when the kernel list holds exactly <paramref name="expected"/>; null when sync is off or the list is unreadable.</summary>
    public bool? KernelListEquals(PortSet expected)
    {
        if (!Active)
        {
            return null;
        }

        try
        {
            // Its own handle and buffer: the writer's belong to whoever holds the write.
            using SafeFileHandle handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read);
            byte[] buffer = new byte[4096];
            return KernelPortList.Read(handle, ref buffer).SetEquals(expected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _signal.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _handle?.Dispose();
        _readHandle?.Dispose();
        _record.Dispose();
    }

    private void AdoptSystemExclusions()
    {
        PortSet current = ReadKernelList();
        PortSet owned = _record.Load();

        // Restored persistent blocks are the daemon's even when the record was lost.
        var reserved = new PortSet();
        _table.CopyReservedPorts(reserved);
        owned.UnionWith(reserved);

        // The kernel holds what was just read. The daemon's part of it is stale: the first write drops or re-adds it.
        _lastWritten.CopyFrom(current);
        _lastOwned.CopyFrom(current);
        _lastOwned.IntersectWith(owned);
        _recorded.CopyFrom(owned);
        _lastWrittenKnown = true;
        current.ExceptWith(owned);
        _table.AddSystemExclusions(current);
        PortSet stale = _lastOwned;
        if (!stale.IsEmpty)
        {
            DaemonLog.RemovingStaleEntries(_logger, KernelPortList.Format(stale));
        }

        if (!current.IsEmpty)
        {
            DaemonLog.SystemExclusionsFound(_logger, KernelPortList.Format(current));
        }
    }

    private PortSet ReadKernelListOrThrow()
    {
        _readHandle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read);
        return KernelPortList.Read(_readHandle, ref _readBuffer);
    }

    private PortSet ReadKernelList()
    {
        try
        {
            return ReadKernelListOrThrow();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without the list there are no system exclusions to honour; sync (if on) would have failed to open too.
            DaemonLog.KernelListUnreadable(_logger, Path, e.Message);
            return new PortSet();
        }
    }
}
