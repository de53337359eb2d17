using System.Net.Sockets;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// A real portreserved child process with a short temp socket path and a temp state directory. The kernel list is
/// set to <c>initialKernelList</c> before the first start, since every test shares the namespace's one list. Each start
/// waits for the daemon's own readiness notification (READY=1 on its $NOTIFY_SOCKET, as systemd would), or its exit.
/// The daemon pins its bind hooks in a bpf filesystem of its own, mounted in its directory (as root): they outlive each
/// stop and kill, as on a real machine, and go when the daemon is disposed, with that filesystem.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private readonly string _executable;
    private string[] _extraArguments;
    private bool _bpfMounted;
    private readonly string[] _launcher;
    private readonly Dictionary<string, string?> _environment;
    private readonly Socket _notifications = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private ChildProcess? _process;

    private DaemonProcess(string executable, string directory, string[] extraArguments, IDictionary<string, string?>? environment, string[]? launcher = null)
    {
        _executable = executable;
        _launcher = launcher ?? [];
        Directory = directory;
        _extraArguments = extraArguments;
        _notifications.Bind(new UnixDomainSocketEndPoint(System.IO.Path.Combine(directory, "n")));
        System.IO.Directory.CreateDirectory(System.IO.Path.Combine(directory, "reservations.d"));
        _environment = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["NOTIFY_SOCKET"] = System.IO.Path.Combine(directory, "n") };
    }

    public string Directory { get; }

    /// <summary>Inside <see cref="Directory"/>, unless a test names its own with --socket.</summary>
    public string SocketPath => Array.IndexOf(_extraArguments, "--socket") is int i and >= 0 ? _extraArguments[i + 1] : System.IO.Path.Combine(Directory, "s");

    public string StateDirectory => System.IO.Path.Combine(Directory, "state");

    /// <summary>The private bpf filesystem's mount point; the daemon pins in <see cref="BpfDirectory"/> inside it.</summary>
    public string BpfMount => System.IO.Path.Combine(Directory, "bpf");

    public string BpfDirectory => System.IO.Path.Combine(BpfMount, "portreserve");

    /// <summary>
    /// The reservations.d directory the daemon reads unless a test names its own with --config-dir (never the
    /// machine's /usr/lib and /etc ones); created empty.
    /// </summary>
    public string ConfigDirectory => System.IO.Path.Combine(Directory, "reservations.d");

    public int Pid => _process?.Pid ?? 0;

    public bool HasExited => _process?.HasExited ?? true;

    public string Log => _process?.Output ?? string.Empty;

    /// <summary>
    /// The first log line that satisfies <paramref name="match"/>, written or still to come: the console logger writes
    /// from a queue of its own, so a line may follow the readiness notification.
    /// </summary>
    public Task<string> WaitForLogLineAsync(Func<string, bool> match) => _process!.WaitForLineAsync(match);

    public PortReservationClientOptions ClientOptions => new() { SocketPath = SocketPath };

    public Dictionary<string, string?> ClientEnvironment => new() { ["PORTRESERVE_SOCKET"] = SocketPath };

    public static Task<DaemonProcess> StartAsync(string initialKernelList = "", params string[] arguments)
        => StartAsync(null, initialKernelList, arguments);

    /// <summary>Starts with extra environment variables.</summary>
    public static Task<DaemonProcess> StartAsync(IDictionary<string, string?>? environment, string initialKernelList, params string[] arguments)
    {
        KernelList.EnsurePrivateNamespace();
        KernelList.Write(initialKernelList);
        return StartAsync(Artifacts.Daemon, environment, arguments);
    }

    /// <summary>Starts with at most <paramref name="openFiles"/> open files (RLIMIT_NOFILE, as LimitNOFILE= would set it).</summary>
    public static Task<DaemonProcess> StartWithOpenFileLimitAsync(int openFiles, params string[] arguments)
    {
        KernelList.EnsurePrivateNamespace();
        KernelList.Write(string.Empty);
        return StartAsync(Artifacts.Daemon, null, arguments, ["prlimit", $"--nofile={openFiles}:{openFiles}", "--"]);
    }

    /// <summary>Starts in a pid namespace of its own with its own /proc, as in a container.</summary>
    public static Task<DaemonProcess> StartInPidNamespaceAsync(params string[] arguments)
    {
        KernelList.EnsurePrivateNamespace();
        KernelList.Write(string.Empty);
        return StartAsync(Artifacts.Daemon, null, arguments, ["unshare", "--pid", "--fork", "--mount-proc", "--"]);
    }

    /// <summary>Starts an installed portreserved (any executable path), leaving the kernel list alone.</summary>
    public static Task<DaemonProcess> StartInstalledAsync(string executable) => StartAsync(executable, null, ["--kernel-sync", "off"]);

    private static async Task<DaemonProcess> StartAsync(string executable, IDictionary<string, string?>? environment, string[] arguments, string[]? launcher = null)
    {
        int exclusiveBinds = Array.IndexOf(arguments, "--exclusive-binds");
        if (exclusiveBinds >= 0 && arguments.ElementAtOrDefault(exclusiveBinds + 1) == "on")
        {
            KernelAbility.SkipUnlessBindHooks();
        }

        string directory = System.IO.Directory.CreateTempSubdirectory("prt-").FullName;

        // Clients running under other uids must reach the socket inside.
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        var daemon = new DaemonProcess(executable, directory, arguments, environment, launcher);
        try
        {
            await daemon.MountBpfAsync();
            await daemon.RestartAsync();
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    /// <summary>Starts (again) with the same socket and state directory, and waits until it says it is ready.</summary>
    public async Task RestartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("the daemon is still running");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        Launch();
        await WaitUntilReadyAsync();
    }

    /// <summary>Starts again as <see cref="RestartAsync()"/> does, for a start that must fail: its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RestartExpectingFailureAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        Launch();
        int exitCode = await _process!.WaitForExitAsync();
        return (exitCode, _process.Output);
    }

    private void Launch()
    {
        string[] configuration = _extraArguments.Contains("--config-dir") ? [] : ["--config-dir", ConfigDirectory];
        // Without a bpf filesystem of its own (the kernel allowed none), the daemon is left to find it can have none either.
        string[] pins = _extraArguments.Contains("--bpf-dir") || !_bpfMounted ? [] : ["--bpf-dir", BpfDirectory];
        string[] socket = _extraArguments.Contains("--socket") ? [] : ["--socket", SocketPath];
        string[] command = [_executable, .. socket, "--state-dir", StateDirectory, "--log-level", "Debug", .. configuration, .. pins, .. _extraArguments];
        _process = _launcher.Length == 0 ? ChildProcess.Start(command[0], command[1..], _environment) : ChildProcess.Start(_launcher[0], [.. _launcher[1..], .. command], _environment);
    }

    /// <summary>Starts again as <see cref="RestartAsync()"/> does, with <paramref name="arguments"/> in place of the first start's.</summary>
    public Task RestartAsync(params string[] arguments)
    {
        _extraArguments = arguments;
        return RestartAsync();
    }

    public Task<PortReservationClient> ConnectAsync() => PortReservationClient.ConnectAsync(ClientOptions, TestContext.Current.CancellationToken).WithTimeout();

    public void Kill9() => _process!.Kill9();

    /// <summary>Sends the daemon a signal (SIGHUP reloads its reservations.d files).</summary>
    public void Signal(int signal) => _process!.Signal(signal);

    public async Task<int> StopAsync()
    {
        _process!.Signal(Signals.SigTerm);
        return await _process.WaitForExitAsync();
    }

    public Task WaitForExitAsync() => _process!.WaitForExitAsync();

    /// <summary>The next sd_notify message the daemon sent (READY=1 is taken by each start; STOPPING=1 follows a stop).</summary>
    public async Task<string> NextNotificationAsync()
    {
        byte[] buffer = new byte[4096];
        int received = await _notifications.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
        return System.Text.Encoding.UTF8.GetString(buffer, 0, received);
    }

    /// <summary>Stops the daemon as an operator would (SIGTERM, so it cleans up after itself), killing it only if it hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Signal(Signals.SigTerm);
            await Task.WhenAny(_process.Exited, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _notifications.Dispose();

        // Unmounting the daemon's bpf filesystem unpins everything in it: its hooks detach.
        if (System.IO.Directory.Exists(BpfMount) && IsMountPoint(BpfMount))
        {
            (int unmounted, string output) = await ChildProcess.RunAsync("umount", [BpfMount]);
            Assert.True(unmounted == 0, $"umount {BpfMount}: {output}");
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>What <c>portreserved --release-kernel</c> says and exits with, for this daemon's state and pins.</summary>
    public Task<(int ExitCode, string Output)> ReleaseKernelAsync()
        => ChildProcess.RunAsync(_executable, ["--release-kernel", "--state-dir", StateDirectory, "--bpf-dir", BpfDirectory]);

    private static bool IsMountPoint(string path)
        => File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ')[4] == path);

    /// <summary>A bpf filesystem of the daemon's own, where the kernel allows one (not in a user namespace).</summary>
    private async Task MountBpfAsync()
    {
        System.IO.Directory.CreateDirectory(BpfMount);
        // Where bpffs cannot be mounted (a user namespace), the daemon says so and runs without bind hooks.
        (int mounted, _) = await ChildProcess.RunAsync("mount", ["-t", "bpf", "-o", "mode=0700", "bpf", BpfMount]);
        _bpfMounted = mounted == 0;
    }

    /// <summary>Reads notifications (a STOPPING=1 left from a stop before a restart, say) until READY=1, or the daemon's exit.</summary>
    private async Task WaitUntilReadyAsync()
    {
        while (true)
        {
            Task<string> notification = NextNotificationAsync();
            if (await Task.WhenAny(notification, _process!.Exited).WithTimeout() != notification)
            {
                Assert.Fail($"portreserved exited with {_process.ExitCode} before it was ready:\n{_process.Output}");
            }

            if ((await notification).Contains("READY=1", StringComparison.Ordinal))
            {
                return;
            }
        }
    }
}
