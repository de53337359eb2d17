namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// A real portreserved child process with a short temp socket path and a temp state directory. The kernel list is
/// set to <c>initialKernelList</c> before the first start, since every test shares the namespace's one list.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private readonly string[] _extraArguments;
    private readonly IDictionary<string, string?>? _environment;
    private ChildProcess? _process;

    private DaemonProcess(string directory, string[] extraArguments, IDictionary<string, string?>? environment)
    {
        Directory = directory;
        _extraArguments = extraArguments;
        _environment = environment;
    }

    public string Directory { get; }

    public string SocketPath => System.IO.Path.Combine(Directory, "s");

    public string StateDirectory => System.IO.Path.Combine(Directory, "state");

    public int Pid => _process?.Pid ?? 0;

    public string Log => _process?.Output ?? string.Empty;

    public PortReservationClientOptions ClientOptions => new() { SocketPath = SocketPath };

    public Dictionary<string, string?> ClientEnvironment => new() { ["PORTRESERVE_SOCKET"] = SocketPath };

    public static Task<DaemonProcess> StartAsync(string initialKernelList = "", params string[] arguments)
        => StartAsync(null, initialKernelList, arguments);

    /// <summary>Starts with extra environment variables (NOTIFY_SOCKET, say).</summary>
    public static async Task<DaemonProcess> StartAsync(IDictionary<string, string?>? environment, string initialKernelList, params string[] arguments)
    {
        KernelList.EnsurePrivateNamespace();
        KernelList.Write(initialKernelList);
        string directory = System.IO.Directory.CreateTempSubdirectory("prt-").FullName;

        // Clients running under other uids must reach the socket inside.
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        var daemon = new DaemonProcess(directory, arguments, environment);
        await daemon.RestartAsync();
        return daemon;
    }

    /// <summary>Starts (again) with the same socket and state directory, and waits until it answers status.</summary>
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

        _process = ChildProcess.Start(Artifacts.Daemon, ["--socket", SocketPath, "--state-dir", StateDirectory, "--log-level", "Debug", .. _extraArguments], _environment);
        await WaitUntilReadyAsync();
    }

    public Task<PortReservationClient> ConnectAsync() => PortReservationClient.ConnectAsync(ClientOptions, TestContext.Current.CancellationToken).WithTimeout();

    public void Kill9() => _process!.Kill9();

    public async Task<int> StopAsync()
    {
        _process!.Signal(Signals.SigTerm);
        return await _process.WaitForExitAsync();
    }

    public Task WaitForExitAsync() => _process!.WaitForExitAsync();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private async Task WaitUntilReadyAsync()
    {
        DateTimeOffset deadline = TimeProvider.System.GetUtcNow() + Timeouts.Default;
        while (true)
        {
            if (_process!.HasExited)
            {
                Assert.Fail($"portreserved exited with {_process.ExitCode} before it was ready:\n{_process.Output}");
            }

            try
            {
                await using PortReservationClient client = await ConnectAsync();
                await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
                return;
            }
            catch (PortReservationException) when (TimeProvider.System.GetUtcNow() < deadline)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
        }
    }

    /// <summary>An installed daemon (any executable path), with its own temp socket and state, killed on dispose.</summary>
    internal sealed class Installed : IAsyncDisposable
    {
        private readonly ChildProcess _process;
        private readonly string _directory;

        private Installed(ChildProcess process, string directory)
        {
            _process = process;
            _directory = directory;
        }

        public string SocketPath => Path.Combine(_directory, "s");

        public static async Task<Installed> StartAsync(string executable)
        {
            string directory = System.IO.Directory.CreateTempSubdirectory("prt-inst-").FullName;
            var installed = new Installed(ChildProcess.Start(executable, ["--socket", Path.Combine(directory, "s"), "--state-dir", Path.Combine(directory, "state"), "--kernel-sync", "off"]), directory);
            await Timeouts.Eventually(() => Accepts(installed.SocketPath) || installed._process.HasExited, "the installed daemon listens");
            Assert.False(installed._process.HasExited, installed._process.Output);
            return installed;
        }

        public async ValueTask DisposeAsync()
        {
            await _process.DisposeAsync();
            System.IO.Directory.Delete(_directory, recursive: true);
        }

        private static bool Accepts(string path)
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Seqpacket, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }
    }
}
