using System.Globalization;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>The portserver endpoint against Debian's unmodified python3-portpicker.</summary>
public sealed class PortServerTests
{
    private const string Python = "/usr/bin/python3";
    private const string HoldPort = "import os, sys, portpicker; print(portpicker.pick_unused_port(), os.getpid(), flush=True); sys.stdin.read()";

    [Fact(Timeout = 60_000)]
    public async Task PickUnusedPort_PortIsInTheKernelWhileThePythonProcessLives_AndFreedWithinASecondOfItsExit()
    {
        (DaemonProcess daemon, string address) = await StartAsync();
        await using (daemon)
        {
            await using ChildProcess python = ChildProcess.Start(Python, ["-c", HoldPort], PortServerEnvironment(address), redirectInput: true);
            (int port, int pid) = ParseGrant(await python.WaitForLineAsync(_ => true));

            Assert.Contains(port, KernelList.Ports());
            await using (PortReservationClient client = await daemon.ConnectAsync())
            {
                IReadOnlyList<PortReservationInfo> grants = await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
                Assert.Equal([PortReservationProtocol.Tcp, PortReservationProtocol.Udp], grants.Where(g => g.StartPort == port && g.OwnerPid == pid).Select(g => g.Protocol));
            }

            python.CloseInput();
            await python.WaitForExitAsync();
            await Timeouts.Eventually(() => !KernelList.Ports().Contains(port), $"port {port} leaves the kernel list after its owner exits", TimeSpan.FromSeconds(1));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task ManyConcurrentPythonProcesses_GetDistinctPorts()
    {
        (DaemonProcess daemon, string address) = await StartAsync();
        await using (daemon)
        {
            var pythons = Enumerable.Range(0, 24).Select(_ => ChildProcess.Start(Python, ["-c", HoldPort], PortServerEnvironment(address), redirectInput: true)).ToList();
            try
            {
                (int Port, int Pid)[] grants = await Task.WhenAll(pythons.Select(async p => ParseGrant(await p.WaitForLineAsync(_ => true, TimeSpan.FromSeconds(60)))));

                Assert.Equal(grants.Length, grants.Select(g => g.Port).Distinct().Count());
                Assert.True(KernelList.Ports().IsSupersetOf(grants.Select(g => g.Port)));
            }
            finally
            {
                foreach (ChildProcess python in pythons)
                {
                    await python.DisposeAsync();
                }
            }

            await Timeouts.Eventually(() => KernelList.Text.Length == 0, "every grant is released once the processes are gone", TimeSpan.FromSeconds(2));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task RefusedPids_GetNothingAndHoldNothing()
    {
        (DaemonProcess daemon, string address) = await StartAsync();
        await using (daemon)
        {
            (int _, string exitedPidText) = await ChildProcess.RunAsync("sh", ["-c", "echo $$"]);
            foreach (string request in new[] { "1\n", "0\n", "-7\n", "abc\n", "42 43\n", exitedPidText.Trim() + "\n", "4194304999\n", string.Empty })
            {
                Assert.True((await RawRequestAsync(address, request)).Length == 0, $"request '{request.Trim()}' got an answer");
            }

            Assert.Equal(string.Empty, KernelList.Text);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task KernelThreads_AreRefusedLikePid1_SinceTheyNeverExit()
    {
        (DaemonProcess daemon, string address) = await StartAsync();
        await using (daemon)
        {
            // kthreadd is pid 2; any process whose parent it is, is a kernel thread too.
            string kernelThread = Directory.EnumerateDirectories("/proc").Select(Path.GetFileName)
                .First(pid => pid!.All(char.IsAsciiDigit) && pid != "2" && File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[1] == "2")!;

            foreach (string request in new[] { "2\n", kernelThread + "\n" })
            {
                Assert.True((await RawRequestAsync(address, request)).Length == 0, $"kernel thread {request.Trim()} got a port");
            }

            Assert.Equal(string.Empty, KernelList.Text);
            await Timeouts.Eventually(() => daemon.Log.Contains($"pid {kernelThread} is a kernel thread, which never exits", StringComparison.Ordinal), "the refusal is logged with its reason");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Grant_IsBoundByAChildOfTheRequester_WhileOthersKeepAwayFromItsAutomaticChoice()
    {
        // Exclusive binds on: a grant must still not be exclusive, since portpicker's callers start the servers that bind it.
        string address = $"@portreserve-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--portserver-address", address, "--exclusive-binds", "on");
        string script = $$"""
            import subprocess, portpicker
            port = portpicker.pick_unused_port()
            for protocol in ("tcp", "udp"):
                bound = subprocess.run(["{{Artifacts.Peer}}", "try-bind", protocol, str(port)], capture_output=True, text=True)
                print(protocol, bound.stdout.strip(), flush=True)
            """;

        (int exit, string output) = await ChildProcess.RunAsync(Python, ["-c", script], PortServerEnvironment(address));

        Assert.True(exit == 0, output);
        Assert.Matches(@"^tcp ok \d+\nudp ok \d+$", output.Trim().ReplaceLineEndings("\n"));
    }

    [Fact(Timeout = 60_000)]
    public async Task GarbageAndIdleConnections_DoNotDisturbTheEndpoint()
    {
        (DaemonProcess daemon, string address) = await StartAsync();
        await using (daemon)
        {
            var random = new Random(4);
            var idle = new List<Socket>();
            try
            {
                for (int i = 0; i < 10; i++)
                {
                    idle.Add(await ConnectAsync(address));
                }

                for (int i = 0; i < 40; i++)
                {
                    byte[] garbage = new byte[random.Next(1, 5000)];
                    random.NextBytes(garbage);
                    await RawRequestAsync(address, garbage);
                }

                (int exit, string output) = await ChildProcess.RunAsync(Python, ["-c", "import portpicker; print(portpicker.pick_unused_port())"], PortServerEnvironment(address));
                Assert.Equal(0, exit);
                int port = int.Parse(output.Trim(), CultureInfo.InvariantCulture);
                Assert.InRange(port, 1024, 65535);
            }
            finally
            {
                idle.ForEach(s => s.Dispose());
            }

            await using PortReservationClient client = await daemon.ConnectAsync();
            Assert.Empty(await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task FilesystemAddress_WorksLikeAnAbstractOne()
    {
        string directory = Directory.CreateTempSubdirectory("prt-ps-").FullName;
        string address = Path.Combine(directory, "portserver.sock");
        try
        {
            // Without the bind hooks a stop releases the grant (with them the next daemon would restore it).
            await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--portserver-address", address, "--exclusive-binds", "off");
            await using ChildProcess python = ChildProcess.Start(Python, ["-c", HoldPort], PortServerEnvironment(address), redirectInput: true);
            (int port, _) = ParseGrant(await python.WaitForLineAsync(_ => true));

            Assert.Contains(port, KernelList.Ports());
            Assert.Equal(0, await daemon.StopAsync());
            Assert.False(File.Exists(address));
            Assert.DoesNotContain(port, KernelList.Ports());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<(DaemonProcess Daemon, string Address)> StartAsync()
    {
        string address = $"@portreserve-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        return (await DaemonProcess.StartAsync("", "--portserver-address", address), address);
    }

    private static Dictionary<string, string?> PortServerEnvironment(string address) => new() { ["PORTSERVER_ADDRESS"] = address };

    private static (int Port, int Pid) ParseGrant(string line)
    {
        string[] fields = line.Split(' ');
        return (int.Parse(fields[0], CultureInfo.InvariantCulture), int.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    private static async Task<Socket> ConnectAsync(string address)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        string path = address.StartsWith('@') ? "\0" + address[1..] : address;
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken).AsTask().WithTimeout();
        return socket;
    }

    private static Task<byte[]> RawRequestAsync(string address, string request) => RawRequestAsync(address, System.Text.Encoding.ASCII.GetBytes(request));

    /// <summary>Sends one request and reads until the server closes; a reset (unread garbage) counts as no answer.</summary>
    private static async Task<byte[]> RawRequestAsync(string address, byte[] request)
    {
        using Socket socket = await ConnectAsync(address);
        var reply = new List<byte>();
        try
        {
            if (request.Length > 0)
            {
                await socket.SendAsync(request, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
            }
            else
            {
                socket.Shutdown(SocketShutdown.Send);
            }

            byte[] buffer = new byte[256];
            int received;
            while ((received = await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout()) > 0)
            {
                reply.AddRange(buffer.AsSpan(0, received));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
        }

        return [.. reply];
    }
}
