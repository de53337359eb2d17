using System.Globalization;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Compat;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>
/// The daemon, built in one place in the order its parts depend on each other: state directory, store, table (with
/// the stored reservations and the kernel's system exclusions), the ledger that owns it from then on, the request
/// handlers, and last the endpoints. When <see cref="StartAsync"/> returns, the kernel holds the table and every endpoint
/// accepts. Disposing it stops the endpoints (draining what they started), drops runtime reservations, and closes the rest.
/// </summary>
internal sealed class DaemonHost : IAsyncDisposable
{
    private static readonly TimeSpan s_reconcileInterval = TimeSpan.FromMilliseconds(500);

    private readonly ShutdownSequence _shutdown;
    private readonly ILogger _logger;
    private readonly DeclaredReservations _declared;
    private readonly InFlight _reloads = new();
    private volatile bool _stopping;

    private DaemonHost(ShutdownSequence shutdown, ILogger logger, DeclaredReservations declared)
    {
        _shutdown = shutdown;
        _logger = logger;
        _declared = declared;

        // The first step of a stop: a reload under way finishes (its store write and kernel commit), and none starts.
        shutdown.Add(() =>
        {
            _stopping = true;
            return _reloads.DrainAsync();
        });
    }

    public static async Task<DaemonHost> StartAsync(DaemonOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ILogger logger = loggerFactory.CreateLogger("portreserved");
        var shutdown = new ShutdownSequence();
        try
        {
            DeclaredReservations declared = await BuildAsync(options, logger, time, shutdown).ConfigureAwait(false);
            return new DaemonHost(shutdown, logger, declared);
        }
        catch
        {
            await shutdown.RunAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>SIGHUP: reads the reservations.d files again and applies the difference, in the background; the log tells what it did.</summary>
    public void Reload()
    {
        // Counted before the check, so that a stop either waits for this reload or finds it never started.
        _reloads.Enter();
        if (_stopping)
        {
            _reloads.Exit();
            return;
        }

        _ = ReloadLoggedAsync();
    }

    public ValueTask DisposeAsync() => _shutdown.RunAsync();

    private async Task ReloadLoggedAsync()
    {
        try
        {
            await _declared.ApplyAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The daemon is stopping; the files are read again at the next start.
        }
        catch (Exception e)
        {
            DaemonLog.DeclarationsNotApplied(_logger, e.Message);
        }
        finally
        {
            _reloads.Exit();
        }
    }

    private static async Task<DeclaredReservations> BuildAsync(DaemonOptions options, ILogger logger, TimeProvider time, ShutdownSequence shutdown)
    {
        string version = typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        TrustedDirectory.Ensure(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "state directory", "--state-dir");
        shutdown.AddSync(LockStateDirectory(options.StateDirectory));
        PersistentStore store = shutdown.AddSync(PersistentStore.Open(options.StateDirectory));
        AccessPolicy access = AccessPolicy.Resolve(options.AdminGroup);
        DaemonCounters counters = shutdown.AddSync(new DaemonCounters(version));

        // The bind hook first: the table keeps a journal of its changes only for it to mirror.
        ExclusiveBindsSink exclusive = shutdown.AddSync(ExclusiveBindsSink.Open(options.ExclusiveBinds, access.AdminGroupId, options.BpfDirectory, options.RestartGrace, logger));

        // The table as it starts: stored persistent reservations (new tokens; declared ones as the files last declared
        // them, so their ports stay in the kernel while the files are read again), then the kernel list's system exclusions.
        PortRange wildcard = options.WildcardRange ?? ReadEphemeralRange();
        var quotas = new QuotaPolicy(options.MaxRuntimePortsPerUid, options.MaxRuntimeReservationsPerUid);
        UnprivilegedPortStart unprivileged = shutdown.AddSync(new UnprivilegedPortStart());
        var table = new ReservationTable(wildcard, quotas, new SocketPortUsage(exclusive.IsActive ? exclusive : null), recordChanges: exclusive.IsActive, unprivilegedPortStart: unprivileged.Read);
        IReadOnlyList<StoredReservation> stored = store.LoadAll();
        foreach (StoredReservation reservation in stored)
        {
            table.RestorePersistent(reservation.Block, ConsumerNames.WithGroupMembers(reservation.Consumers), reservation.Source);
        }

        DaemonLog.PersistentRestored(logger, stored.Count, store.FilePath, access.Describe());

        // Then the runtime reservations the daemon before this one recorded, for the holders still alive and the same.
        RestoredHolders restored = shutdown.AddSync(RestoredHolders.Restore(exclusive.Recorded, table, access, logger));
        var daemonPorts = new PortSet();
        table.CopyKernelPorts(new PortSet(), daemonPorts);
        var record = new OwnedPortsRecord(Path.Combine(options.StateDirectory, "kernel-ports"));
        (ReservedPortsSink kernel, PortSet systemExclusions) = ReservedPortsSink.Open(options.KernelSync, options.KernelListPath, record, daemonPorts, logger);
        shutdown.AddSync(kernel);
        table.AddSystemExclusions(systemExclusions);

        // From here on the ledger owns the table. Its first commit enforces the restored reservations before anything is
        // served. Every kernel write happens on the loop that serves the clients: stopped last, after whatever writes.
        EventLoop loop = shutdown.AddSync(new EventLoop("portreserved requests", logger));
        loop.Start();
        ReservationLedger ledger = shutdown.Add(new ReservationLedger(table, [kernel, exclusive], counters, logger, loop));
        await ledger.CommitNowAsync().ConfigureAwait(false);
        if (restored.TakeExited() is { Count: > 0 } exited)
        {
            foreach (HolderId holder in exited)
            {
                ledger.ReleaseHolder(holder);
            }

            await ledger.CommitNowAsync().ConfigureAwait(false);
        }

        // Now the hooks: the maps hold what the table enforces, and take over from what a daemon before this one pinned.
        exclusive.Attach(logger);

        // Someone may rewrite the kernel list behind the daemon's back (root echoing into the sysctl): within a second
        // the table's entries are back, and what they added is kept as system exclusions.
        // The same tick renews the lease under which the hooks enforce runtime reservations (both on the kernel writer).
        shutdown.Add(time.CreateTimer(
            _ => ledger.ReconcileKernel(),
            null,
            s_reconcileInterval,
            s_reconcileInterval));
        ProcessTrees? trees = exclusive.Cgroups is { } cgroups ? shutdown.AddSync(new ProcessTrees(cgroups, Path.Combine(options.StateDirectory, "process-trees"), time, restored.Trees)) : null;
        RequestAudit audit = shutdown.AddSync(new RequestAudit(counters, logger, time));
        exclusive.Refusals = new RefusedBindReporter((protocol, port) => ledger.Read(view => RefusedBindReporter.Holder(view, protocol, port)), counters, audit, logger);
        ProcessExitWatcher watcher = shutdown.AddSync(new ProcessExitWatcher(loop));
        var runtime = new RuntimeReservations(ledger, trees, restored, audit, counters, logger);
        restored.Start(watcher, runtime, time);

        // A start that fails from here on (an endpoint's address taken, a bad reservations.d) leaves the runtime
        // reservations it restored, their process trees included, to the next start, as a stop would.
        shutdown.Add(() =>
        {
            if (exclusive.IsActive)
            {
                runtime.KeepForTheNextDaemon();
            }

            return Task.CompletedTask;
        });

        // A stop leaves runtime reservations to the next daemon where it can (their records are pinned), as a crash does;
        // without the hooks nothing could restore them, so they go.
        shutdown.Add(() => exclusive.IsActive ? Task.CompletedTask : runtime.ReleaseAllRuntimeAsync());
        PersistentChanges changes = shutdown.AddSync(new PersistentChanges(ledger, store, logger));
        var persistent = new PersistentReservations(ledger, changes, access, audit, counters, time, logger);

        // The reservations.d files, applied before anything is served: a line's ports are reserved when the daemon is ready.
        var declared = new DeclaredReservations(ledger, changes, options.ConfigDirectories, counters, time, logger);
        await declared.ApplyAsync().ConfigureAwait(false);
        DescriptorBudget descriptors = DescriptorBudget.ForThisProcess();
        var connections = new ConnectionLimits(options.MaxConnections, options.MaxConnectionsPerUid, descriptors);
        var identity = new DaemonIdentity(version, options.SocketPath, options.StateDirectory, time) { PortServerAddress = options.PortServerAddress, MetricsAddress = options.MetricsListen };
        var handlers = new RequestHandlers(runtime, persistent, declared, new StatusReporter(identity, ledger, kernel, exclusive, connections, declared), access);

        // Endpoints last, the main socket after the others: a status reply on it means every endpoint is up.
        if (options.MetricsListen is { } metricsAddress)
        {
            shutdown.Add(MetricsEndpoint.Start(loop, metricsAddress, new DaemonMetrics(counters, ledger, connections), logger));
        }

        if (options.PortServerAddress is { } portServerAddress)
        {
            shutdown.Add(PortServerListener.Start(loop, portServerAddress, runtime, watcher, new PortServerAdmission(access, connections, descriptors, audit), logger));
            DaemonLog.PortServerListening(logger, portServerAddress);
        }

        shutdown.Add(DaemonListener.Start(loop, options.SocketPath, handlers, ledger, connections, audit, logger));

        // The first step of a stop, before the endpoints close their connections: with the hooks, holders that go from
        // now on keep theirs for the next daemon; without them, every runtime reservation goes now, said as a stop.
        shutdown.Add(async () =>
        {
            DaemonLog.Stopping(logger, exclusive.IsActive ? $"runtime reservations kept for the next daemon (enforced for {options.RestartGrace.TotalSeconds:0} s without one)" : "runtime reservations released (without the bind hooks nothing could restore them)");
            if (exclusive.IsActive)
            {
                runtime.KeepForTheNextDaemon();
            }
            else
            {
                await runtime.ReleaseAllRuntimeAsync().ConfigureAwait(false);
            }
        });
        DaemonLog.Started(logger, version, options.SocketPath, options.StateDirectory, kernel.Detail, exclusive.Detail, wildcard);
        return declared;
    }

    internal static Microsoft.Win32.SafeHandles.SafeFileHandle LockStateDirectory(string stateDirectory)
    {
        // An exclusive flock: one daemon per state directory.
        string path = Path.Combine(stateDirectory, "portreserved.lock");
        Microsoft.Win32.SafeHandles.SafeFileHandle lockFile = Interop.Libc.OpenNoFollow(path, Interop.Libc.O_RDWR | Interop.Libc.O_CREAT);
        if (!Interop.Libc.TryLockExclusive(lockFile))
        {
            lockFile.Dispose();
            throw new DaemonRunningException($"state directory {stateDirectory} is in use by another portreserved; stop it or choose another --state-dir");
        }

        return lockFile;
    }

    private static PortRange ReadEphemeralRange()
    {
        const string path = "/proc/sys/net/ipv4/ip_local_port_range";
        string[] bounds = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (bounds.Length == 2
            && int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out int low)
            && int.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out int high)
            && PortRange.FromBounds(low, high) is { IsValid: true } range)
        {
            return range;
        }

        throw new InvalidOperationException($"cannot read the ephemeral port range from {path}; pass --wildcard-range LO-HI");
    }
}
