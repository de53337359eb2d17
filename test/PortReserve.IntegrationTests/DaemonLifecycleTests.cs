using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Start-up edge cases an operator meets: stale sockets, a second instance, bad options.</summary>
public sealed class DaemonLifecycleTests
{
    [Fact(Timeout = 60_000)]
    public async Task AStopWithoutTheBindHooks_ReleasesRuntimeReservationsAsAStop_NotAsConnectionsThatWentAway()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");
        PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(0, await daemon.StopAsync());

        Assert.Contains($"released TCP {held.StartPort}", daemon.Log, StringComparison.Ordinal);
        Assert.Contains("the daemon is stopping, and without the bind hooks nothing could keep it", daemon.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("its connection went away", daemon.Log, StringComparison.Ordinal);
        await client.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task UnderSystemd_LogLinesCarryTheirSyslogPriority_AndNoEventIdThatReadsAsAPid()
    {
        await using DaemonProcess journal = await DaemonProcess.StartAsync(new Dictionary<string, string?> { ["JOURNAL_STREAM"] = "8:12345" }, "");
        await using DaemonProcess terminal = await DaemonProcess.StartAsync();
        string started = await journal.WaitForLogLineAsync(line => line.Contains("listening on", StringComparison.Ordinal));
        string plain = await terminal.WaitForLogLineAsync(line => line.Contains("listening on", StringComparison.Ordinal));

        Assert.StartsWith("<6>portreserved ", started, StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: portreserved ", plain);
        Assert.DoesNotContain("portreserved[", journal.Log + terminal.Log, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Restart_AfterSigKill_ReplacesTheStaleSocketFile()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        daemon.Kill9();
        await daemon.WaitForExitAsync();
        Assert.True(File.Exists(daemon.SocketPath));

        await daemon.RestartAsync();

        await using PortReservationClient client = await daemon.ConnectAsync();
        Assert.Equal(0, (await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout()).RuntimeReservations);
    }

    [Fact(Timeout = 60_000)]
    public async Task SecondDaemon_OnTheSameSocket_RefusesToStartAndLeavesTheFirstServing()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        string otherState = Path.Combine(daemon.Directory, "other-state");

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", daemon.SocketPath, "--state-dir", otherState, "--config-dir", daemon.ConfigDirectory, "--exclusive-binds", "off"]);

        Assert.Equal(1, exit);
        Assert.Contains("already listening", output);
        await using PortReservationClient client = await daemon.ConnectAsync();
        await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
    }

    [Fact(Timeout = 60_000)]
    public async Task SecondDaemon_OnTheSameStateDirectory_RefusesToStart()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", Path.Combine(daemon.Directory, "t"), "--state-dir", daemon.StateDirectory, "--config-dir", daemon.ConfigDirectory, "--exclusive-binds", "off"]);

        Assert.Equal(1, exit);
        Assert.Contains("in use by another portreserved", output);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("--wildcard-range", "5000")]
    [InlineData("--kernel-sync", "maybe")]
    [InlineData("--kernel-sync", "1")]
    [InlineData("--exclusive-binds", "")]
    [InlineData("--log-level", "loud")]
    [InlineData("--max-runtime-ports-per-uid", "0")]
    [InlineData("--restart-grace", "x")]
    [InlineData("--max-connections", "99999999999")]
    [InlineData("--max-connections-per-uid", "-1")]
    [InlineData("--max-runtime-reservations-per-uid", "1.5")]
    public async Task BadOption_ExitsTwoWithAMessageNamingTheOption_NeverATypeOrATrace(string option, string value)
    {
        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, [option, value, "--socket", "/tmp/prt-never/s"]);

        Assert.Equal(2, exit);
        Assert.StartsWith($"portreserved: {option} ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("PortReserve.", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Help_SaysWhatEachOptionTakes_NotATypeOrTheOptionsOwnName()
    {
        (int exit, string help) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--help"]);

        Assert.Equal(0, exit);
        Assert.Contains("--kernel-sync <auto|on|off>", help);
        Assert.Contains("--restart-grace <SECONDS>", help);
        Assert.Contains("[default: information]", help);
        Assert.DoesNotContain("Auto|", help);
        Assert.DoesNotMatch(@"<[a-z]+(-[a-z]+)+>", help);
    }

    [Fact(Timeout = 60_000)]
    public async Task GarbageFrames_CloseOnlyTheOffendingConnection()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 11000, 3, TestContext.Current.CancellationToken).WithTimeout();

        foreach (byte[] garbage in new[] { new byte[] { 9, 9, 9 }, new byte[] { 1, 0x81, 0, 0, 1, 0, 0, 0 }, new byte[5000], new byte[] { 1, 1, 0, 0, 1, 0, 0, 0, 7 } })
        {
            using var raw = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            await raw.ConnectAsync(new UnixDomainSocketEndPoint(daemon.SocketPath), TestContext.Current.CancellationToken).AsTask().WithTimeout();
            await raw.SendAsync(garbage, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
            byte[] reply = new byte[FrameSize];
            int received = await raw.ReceiveAsync(reply, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
            Assert.True(received == 0 || reply[3] == (byte)PortReservationErrorKind.InvalidArgument, $"reply to garbage of {garbage.Length} bytes");
        }

        Assert.True(KernelList.ContainsAll(11000, 11002));
        Assert.Single(await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout());
    }

    private const int FrameSize = 65536;
}
