using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using System.Runtime.InteropServices;
using PortReserve.Daemon;
using PortReserve.Daemon.Kernel;
using PortReserve.Protocol;

var defaults = new DaemonOptions();
var socket = new Option<string>("--socket") { HelpName = "PATH", Description = $"Unix socket to listen on (default: {SocketLocations.SystemSocket} as root, else $XDG_RUNTIME_DIR/portreserve/portreserved.sock)" };
var stateDir = new Option<string>("--state-dir") { HelpName = "DIR", Description = $"Directory for persistent state (default: {DaemonPaths.SystemStateDirectory} as root, else $XDG_STATE_HOME/portreserve)" };
var kernelSync = OptionParsers.Choice("--kernel-sync", "Mirror reservations into net.ipv4.ip_local_reserved_ports: auto (when writable), on (required), off", defaults.KernelSync);
var exclusiveBinds = OptionParsers.Choice("--exclusive-binds", "Refuse binds to reserved ports by anyone but their holders (cgroup BPF bind hooks): auto (when the kernel allows), on (required), off", defaults.ExclusiveBinds);
var bpfDir = new Option<string>("--bpf-dir") { HelpName = "DIR", Description = $"bpffs directory to pin the bind hooks and their maps in, so that they outlive the daemon; bpffs is mounted at /sys/fs/bpf if it is not (default: {PortReserve.Daemon.Kernel.Bpf.PinDirectory.DefaultPath})" };
var restartGrace = OptionParsers.WholeNumber("--restart-grace", "Seconds runtime reservations stay enforced while no daemon runs, for a restart to take them over; persistent ones stay until a daemon or --release-kernel removes them", (int)defaults.RestartGrace.TotalSeconds, helpName: "SECONDS", unit: " of seconds");
var releaseKernel = new Option<bool>("--release-kernel") { Description = "Do not start: detach the bind hooks a stopped daemon left pinned and take its entries out of the kernel list, so that nothing stays enforced (for stopping PortReserve for good); exits 3 while a daemon runs" };
var wildcardRange = new Option<PortRange?>("--wildcard-range") { HelpName = "LO-HI", Description = "LO-HI range that wildcard requests are served from (default: net.ipv4.ip_local_port_range)", CustomParser = ParseRange };
var adminGroup = new Option<string>("--admin-group") { HelpName = "GROUP", Description = "Group whose members may create and delete persistent reservations, besides root", DefaultValueFactory = _ => defaults.AdminGroup };
var portServer = new Option<string>("--portserver-address") { HelpName = "ADDRESS", Description = "Also serve Google's portserver protocol (portpicker's PORTSERVER_ADDRESS) on this AF_UNIX address; a leading @ means the abstract namespace" };
var metricsListen = new Option<string>("--metrics-listen") { HelpName = "ADDRESS", Description = "Serve Prometheus metrics (HTTP GET) on this Unix socket path or loopback address, like 127.0.0.1:9405" };
var maxPorts = OptionParsers.WholeNumber("--max-runtime-ports-per-uid", "Most runtime-reserved ports one non-administrator uid may hold", defaults.MaxRuntimePortsPerUid);
var logLevel = OptionParsers.Choice("--log-level", "Least severe messages to log: trace, debug, information, warning, error, critical or none", defaults.LogLevel, helpName: "LEVEL");
var maxReservations = OptionParsers.WholeNumber("--max-runtime-reservations-per-uid", "Most runtime reservations one non-administrator uid may hold", defaults.MaxRuntimeReservationsPerUid);
var maxConnections = OptionParsers.WholeNumber("--max-connections", "Most client connections served at once", defaults.MaxConnections);
var configDirs = new Option<string[]>("--config-dir")
{
    Description = $"A reservations.d directory whose *.conf files declare persistent reservations; repeat for several, later ones overriding earlier ones by file name (default: {string.Join(", then ", PortReserve.Declarations.DeclarationFiles.DefaultDirectories)} as root, else $XDG_CONFIG_HOME/portreserve/reservations.d)",
    HelpName = "DIR",
    AllowMultipleArgumentsPerToken = false,
};
var maxConnectionsPerUid = OptionParsers.WholeNumber("--max-connections-per-uid", "Most client connections one non-root uid may hold open", defaults.MaxConnectionsPerUid);
var root = new RootCommand("portreserved: the PortReserve daemon. Owns the machine's TCP/UDP port reservation table and enforces it in the kernel's reserved port list.")
{
    socket, stateDir, kernelSync, exclusiveBinds, adminGroup, wildcardRange, portServer, metricsListen, maxPorts, maxReservations, maxConnections, maxConnectionsPerUid, configDirs, logLevel, bpfDir, restartGrace, releaseKernel,
};

root.SetAction(async (parseResult, _) =>
{
    var options = defaults with
    {
        SocketPath = parseResult.GetValue(socket) ?? defaults.SocketPath,
        StateDirectory = parseResult.GetValue(stateDir) ?? defaults.StateDirectory,
        KernelSync = parseResult.GetValue(kernelSync) ?? defaults.KernelSync,
        ExclusiveBinds = parseResult.GetValue(exclusiveBinds) ?? defaults.ExclusiveBinds,
        WildcardRange = parseResult.GetValue(wildcardRange),
        AdminGroup = parseResult.GetValue(adminGroup)!,
        PortServerAddress = parseResult.GetValue(portServer),
        MetricsListen = parseResult.GetValue(metricsListen),
        MaxRuntimePortsPerUid = parseResult.GetValue(maxPorts),
        MaxRuntimeReservationsPerUid = parseResult.GetValue(maxReservations),
        MaxConnections = parseResult.GetValue(maxConnections),
        MaxConnectionsPerUid = parseResult.GetValue(maxConnectionsPerUid),
        LogLevel = parseResult.GetValue(logLevel) ?? defaults.LogLevel,
        ConfigDirectories = parseResult.GetValue(configDirs) is { Length: > 0 } directories ? [.. directories.Select(Path.GetFullPath)] : defaults.ConfigDirectories,
        BpfDirectory = parseResult.GetValue(bpfDir) is { Length: > 0 } pins ? Path.GetFullPath(pins) : defaults.BpfDirectory,
        RestartGrace = TimeSpan.FromSeconds(parseResult.GetValue(restartGrace)),
    };

    if (parseResult.GetValue(releaseKernel))
    {
        try
        {
            Console.WriteLine(KernelRelease.Run(options));
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"portreserved: {e.Message}");
            return e is DaemonRunningException ? DaemonRunningException.ExitCode : 1;
        }
    }

    if (options.StateDirectory.Length == 0)
    {
        await Console.Error.WriteLineAsync("portreserved: no state directory: neither $XDG_STATE_HOME nor a home directory is set; pass --state-dir DIR");
        return 1;
    }

    using ILoggerFactory loggerFactory = LoggerFactory.Create(builder => builder
        .SetMinimumLevel(options.LogLevel)
        .AddConsole(console => console.FormatterName = DaemonLogFormatter.Name)
        .AddConsoleFormatter<DaemonLogFormatter, DaemonLogFormatter.Settings>(format => format.Journal = DaemonLogFormatter.WritesToJournal())
        .AddFilter<ConsoleLoggerProvider>(level => level >= options.LogLevel));
    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    DaemonHost daemon;
    try
    {
        daemon = await DaemonHost.StartAsync(options, loggerFactory, TimeProvider.System);
    }
    catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or InvalidDataException or System.Net.Sockets.SocketException)
    {
        await Console.Error.WriteLineAsync($"portreserved: {e.Message}");
        return 1;
    }

    await using (daemon)
    {
        // SIGHUP reads the reservations.d files again. A daemon started with SIGHUP ignored (nohup, some supervisors)
        // would otherwise never see it: the runtime leaves signals that were ignored at start alone.
        PortReserve.Interop.Libc.Signal(PortReserve.Interop.Libc.SIGHUP, 0);
        using PosixSignalRegistration onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            daemon.Reload();
        });
        SystemdNotifier.Notify("READY=1\nSTATUS=serving");
        await stop.Task;
        SystemdNotifier.Notify("STOPPING=1");
    }

    return 0;

    void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.TrySetResult();
    }
});

// No response files: "@name" is an abstract socket address here, never "read arguments from file name".
ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parsed.Errors.Count > 0)
{
    foreach (ParseError error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"portreserved: {error.Message}");
    }

    return 2;
}

// Signals are handled by the daemon itself (drain, release, exit 0), not by the parser's termination timeout.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static PortRange? ParseRange(ArgumentResult result)
{
    string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
    string[] parts = text.Split('-');
    if (parts.Length == 2
        && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int low)
        && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int high)
        && high >= low
        && PortRange.FromBounds(low, high) is { IsValid: true } range)
    {
        return range;
    }

    result.AddError($"--wildcard-range '{text}' is not LO-HI with 1 <= LO <= HI <= 65535");
    return null;
}
