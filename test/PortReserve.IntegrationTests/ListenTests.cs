using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// <c>portreserve run --listen</c> hands a program its sockets already bound, as systemd's socket activation does:
/// descriptors 3, 4, … with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES. The program here is Python, not .NET, and checks
/// what sd_listen_fds(3) checks.
/// </summary>
public sealed class ListenTests
{
    // Serves one TCP connection and one UDP datagram on the sockets it was handed, then exits.
    private const string ActivatedServer = """
        import os, socket, sys
        if os.environ.get("LISTEN_PID") != str(os.getpid()):
            sys.exit(f"LISTEN_PID {os.environ.get('LISTEN_PID')} is not my pid {os.getpid()}")
        count = int(os.environ["LISTEN_FDS"])
        names = os.environ["LISTEN_FDNAMES"].split(":")
        tcp, udp = socket.socket(fileno=3), socket.socket(fileno=4)
        print("ready", count, ",".join(names), tcp.getsockname()[1], udp.getsockname()[1], os.getuid(), flush=True)
        connection, _ = tcp.accept()
        connection.sendall(b"hello over tcp\n")
        connection.close()
        data, peer = udp.recvfrom(100)
        udp.sendto(b"hello over udp to " + data, peer)
        """;

    [Fact(Timeout = 90_000)]
    public async Task RunListen_HandsAnUnprivilegedProgramItsPersistent443AndAUdpSocket_WhileNobodyElseMayBindThem()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run the program as nobody");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using (PortReservationClient root = await daemon.ConnectAsync())
        {
            await Persistent.CreateAllowingNobodyAsync(root, 443);
        }

        DirectoryInfo directory = Directory.CreateTempSubdirectory("prt-listen-");
        directory.UnixFileMode = (UnixFileMode)0b111_101_101;
        string program = Path.Combine(directory.FullName, "server.py");
        await File.WriteAllTextAsync(program, ActivatedServer, TestContext.Current.CancellationToken);
        File.SetUnixFileMode(program, (UnixFileMode)0b110_100_100);
        try
        {
            await using ChildProcess run = OtherUser.Start(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Cli, ["run", "--listen", "tcp:443", "--listen", "udp:0", "--", "/usr/bin/python3", program], daemon.ClientEnvironment);
            string[] ready = (await run.WaitForLineAsync(line => line.StartsWith("ready ", StringComparison.Ordinal))).Split(' ');
            int udpPort = int.Parse(ready[4], CultureInfo.InvariantCulture);

            Assert.Equal(["ready", "2", $"tcp-443,udp-{udpPort}", "443"], ready[..4]);
            Assert.Equal(OtherUser.Nobody.ToString(CultureInfo.InvariantCulture), ready[5]);
            Assert.Equal("refused AccessDenied", await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, "tcp", "443", daemon.ClientEnvironment));
            Assert.Equal("refused AccessDenied", await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, "udp", ready[4], daemon.ClientEnvironment));

            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(IPAddress.Loopback, 443, TestContext.Current.CancellationToken).AsTask().WithTimeout();
                using var reader = new StreamReader(tcp.GetStream());
                Assert.Equal("hello over tcp", await reader.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WithTimeout());
            }

            // Bound to every address, dual-stack: an IPv4 datagram reaches it.
            using (var udp = new UdpClient(AddressFamily.InterNetwork))
            {
                await udp.SendAsync(Encoding.ASCII.GetBytes("you"), new IPEndPoint(IPAddress.Loopback, udpPort), TestContext.Current.CancellationToken).AsTask().WithTimeout();
                UdpReceiveResult reply = await udp.ReceiveAsync(TestContext.Current.CancellationToken).AsTask().WithTimeout();
                Assert.Equal("hello over udp to you", Encoding.ASCII.GetString(reply.Buffer));
            }

            Assert.True(await run.WaitForExitAsync(Timeouts.Default) == 0, run.Output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_FindsTheCommandOnPath_NeverInTheCurrentDirectory_WithOrWithoutListen_AndIgnoresBashEnv()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("prt-planted-");
        try
        {
            // Someone else's directory holding a program named like a common command, and a BASH_ENV that would
            // redefine exec for the shim that hands the sockets over.
            string planted = Path.Combine(directory.FullName, "true");
            await File.WriteAllTextAsync(planted, "#!/bin/sh\necho PLANTED\n", TestContext.Current.CancellationToken);
            File.SetUnixFileMode(planted, (UnixFileMode)0b111_101_101);
            string bashEnv = Path.Combine(directory.FullName, "env.sh");
            await File.WriteAllTextAsync(bashEnv, "exec() { echo HIJACKED; }\n", TestContext.Current.CancellationToken);
            var environment = new Dictionary<string, string?>(daemon.ClientEnvironment) { ["BASH_ENV"] = bashEnv };
            string cli = $"cd '{directory.FullName}' && exec '{Artifacts.Cli}'";

            (int plain, string plainOutput) = await ChildProcess.RunAsync("sh", ["-c", $"{cli} run --tcp 1 -- true"], environment);
            (int listen, string listenOutput) = await ChildProcess.RunAsync("sh", ["-c", $"{cli} run --listen tcp:0 -- true"], environment);
            (int fds, string fdsOutput) = await ChildProcess.RunAsync("sh", ["-c", $"{cli} run --listen tcp:0 -- sh -c 'echo $LISTEN_FDS'"], environment);

            Assert.True(plain == 0 && !plainOutput.Contains("PLANTED", StringComparison.Ordinal), plainOutput);
            Assert.True(listen == 0 && !listenOutput.Contains("PLANTED", StringComparison.Ordinal), listenOutput);
            Assert.True(fds == 0 && fdsOutput.Trim() == "1", fdsOutput);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task RunListen_OnAPortInUse_FailsBeforeTheCommandRuns_SayingWhy()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 7480));
        squatter.Listen();

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Cli, ["run", "--listen", "tcp:7480", "--", "sh", "-c", "echo ran"], daemon.ClientEnvironment);

        Assert.Equal(5, exit);
        Assert.StartsWith("portreserve: AddressAlreadyInUse: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", output, StringComparison.Ordinal);
    }
}
