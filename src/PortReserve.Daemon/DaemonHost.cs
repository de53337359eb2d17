using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Compat;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>Start-up, serving and orderly shutdown of portreserved.</summary>
internal static class DaemonHost
{
    public static async Task<int> RunAsync(DaemonOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ILogger logger = loggerFactory.CreateLogger("portreserved");
        string version = typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        Directory.CreateDirectory(options.StateDirectory);
        using FileStream stateLock = LockStateDirectory(options.StateDirectory);

        PortRange wildcard = options.WildcardRange ?? ReadEphemeralRange();
        var quotas = QuotaPolicy.Default with { MaxRuntimePortsPerUid = options.MaxRuntimePortsPerUid, MaxRuntimeReservationsPerUid = options.MaxRuntimeReservationsPerUid };
        var table = new ReservationTable(wildcard, quotas, new SocketPortUsage());
        var gate = new Lock();
        using PersistentStore store = PersistentStore.Open(options.StateDirectory);
        var access = AccessPolicy.Resolve(options.AdminGroup);
        var service = new ReservationService(table, gate, new DaemonIdentity(version, options.SocketPath, options.StateDirectory, time) { PortServerAddress = options.PortServerAddress, MetricsAddress = options.MetricsListen }, store, access, logger);
        DaemonLog.PersistentRestored(logger, service.RestorePersistent(), store.FilePath, access.Describe());
        var record = new OwnedPortsRecord(Path.Combine(options.StateDirectory, "kernel-ports"));
        await using KernelPortSync kernel = KernelPortSync.Open(options.KernelSync, options.KernelListPath, gate, table, record, logger);
        service.AttachKernel(kernel);
        using var metrics = new DaemonMetrics(version, service.ReservationCounts, () => service.ConnectionCount);
        service.AttachMetrics(metrics);
        kernel.Metrics = metrics;
        await kernel.StartAsync();

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        MetricsEndpoint? metricsEndpoint = options.MetricsListen is null ? null : new MetricsEndpoint(options.MetricsListen, metrics, logger);
        metricsEndpoint?.Start();

        // The main socket goes last: a status reply on it means every endpoint is up.
        using ProcessExitWatcher? watcher = options.PortServerAddress is null ? null : new ProcessExitWatcher();
        PortServerListener? portServer = watcher is null ? null : new PortServerListener(options.PortServerAddress!, service, watcher, logger);
        portServer?.Start();
        var listener = new DaemonListener(options.SocketPath, service, access, new ConnectionLimits(options.MaxConnections, options.MaxConnectionsPerUid), logger);
        listener.Start();
        DaemonLog.Started(logger, version, options.SocketPath, options.StateDirectory, kernel.Detail, wildcard);
        if (portServer is not null)
        {
            DaemonLog.PortServerListening(logger, portServer.Address);
        }

        SystemdNotifier.Notify("READY=1\nSTATUS=serving");

        await stop.Task;
        SystemdNotifier.Notify("STOPPING=1");
        if (portServer is not null)
        {
            await portServer.DisposeAsync();
        }

        if (metricsEndpoint is not null)
        {
            await metricsEndpoint.DisposeAsync();
        }

        await listener.DisposeAsync();
        await service.ReleaseAllRuntimeAsync();
        DaemonLog.Stopping(logger);
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }

    private static FileStream LockStateDirectory(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, "portreserved.lock");
        try
        {
            // FileShare.None takes an exclusive flock: one daemon per state directory.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"state directory {stateDirectory} is in use by another portreserved ({e.Message}); stop it or choose another --state-dir", e);
        }
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
