using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Connection floods and per-uid quotas meet their limits with NoBufferSpaceAvailable, and the daemon serves on.</summary>
public sealed class LimitsTests
{
    [Fact(Timeout = 60_000)]
    public async Task ConnectionFlood_MeetsTheLimit_WithAClearError_AndTheDaemonServesOn()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to flood as other uids (administrators are exempt from the limit)");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--max-connections", "8");
        await using ChildProcess flood = Attacker.Start(OtherUser.Nobody, ["hold-connections", daemon.SocketPath, "8", "30"]);
        await flood.WaitForLineAsync(l => l.StartsWith("holding 8 ", StringComparison.Ordinal));

        (int refusedExit, string refused) = await OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, Artifacts.Cli, ["status"], daemon.ClientEnvironment);
        await using PortReservationClient root = await daemon.ConnectAsync();
        await using PortReservation held = await root.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        await flood.DisposeAsync();
        (int servedExit, string served) = await ServedEventuallyAsync(daemon);

        Assert.True(refusedExit == 7, refused);
        Assert.Contains("NoBufferSpaceAvailable: portreserved already serves 8 connections, its limit (--max-connections)", refused);
        Assert.True(servedExit == 0, served);
    }

    [Fact(Timeout = 60_000)]
    public async Task PortQuota_StopsAnUnprivilegedUser_ButNotRoot()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--max-runtime-ports-per-uid", "10");

        (int exit, string output) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Peer, ["hold", "udp", "0", "11"], daemon.ClientEnvironment);
        await using PortReservationClient root = await daemon.ConnectAsync();
        await using PortReservation big = await root.AcquireAsync(PortReservationProtocol.Udp, 0, 100, TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(1, exit);
        Assert.StartsWith("error NoBufferSpaceAvailable", output, StringComparison.Ordinal);
        Assert.Contains("quota of 10", output);
    }

    /// <summary>Once the flood's connections close, another uid is served again (the daemon notices the closes asynchronously).</summary>
    private static Task<(int ExitCode, string Output)> ServedEventuallyAsync(DaemonProcess daemon)
        => Timeouts.Eventually(() => OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, Artifacts.Cli, ["status"], daemon.ClientEnvironment), r => r.ExitCode == 0);
}
