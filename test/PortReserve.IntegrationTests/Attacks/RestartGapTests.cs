using System.Globalization;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// What a local user does while no daemon runs, to make the next one lose or misjudge what it restores: take an address
/// the daemon listens on, so that its start fails; or hold a dead holder's pid as a zombie, which still has it.
/// </summary>
public sealed class RestartGapTests
{
    [Fact(Timeout = 120_000)]
    public async Task AStrangerTakingTheDaemonsAddressInTheGap_FailsTheStartByName_AndTheNextStartStillHasTheRunTree()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and switch to other uids");
        string address = $"portreserve-gap-{Environment.ProcessId}-{Guid.NewGuid():N}";
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on", "--portserver-address", "@" + address);
        string go = Path.Combine(daemon.Directory, "go");
        await using ChildProcess run = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", $"echo ports $PORTRESERVE_TCP; while [ ! -e {go} ]; do sleep 0.1; done; exec {Artifacts.Peer} try-bind tcp ${{PORTRESERVE_TCP%-*}}"], daemon.ClientEnvironment);
        await run.WaitForLineAsync(line => line.StartsWith("ports ", StringComparison.Ordinal));

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        (int failedExit, string failedOutput) = (0, string.Empty);
        await using (ChildProcess squatter = Attacker.Start(OtherUser.Stranger, ["listen-abstract", address], redirectInput: true))
        {
            Assert.Equal("listening", await squatter.WaitForLineAsync(line => line.Length > 0));
            (failedExit, failedOutput) = await daemon.RestartExpectingFailureAsync();
            squatter.CloseInput();
            await squatter.WaitForExitAsync();
        }

        await daemon.RestartAsync();
        await File.WriteAllTextAsync(go, string.Empty, TestContext.Current.CancellationToken);
        int runExit = await run.WaitForExitAsync();

        Assert.NotEqual(0, failedExit);
        Assert.Contains($"--portserver-address @{address}", failedOutput);
        Assert.True(runExit == 0, run.Output);
        Assert.Contains("ok ", run.Output);
    }

    [Fact(Timeout = 120_000)]
    public async Task AStrangerListeningOnTheSocketPathInTheGap_GetsNothingFromAReconnectingClient()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to switch to other uids");

        // A path in /tmp (root's and sticky, which the daemon allows): once a stop removed the socket, anyone may bind it.
        string path = $"/tmp/portreserve-gap-{Environment.ProcessId}-{Guid.NewGuid():N}.sock";
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on", "--socket", path);
        await using PortReservationClient client = await PortReservationClient.ConnectAsync(new PortReservationClientOptions { SocketPath = path, ReconnectTimeout = TimeSpan.FromSeconds(3) }, TestContext.Current.CancellationToken).WithTimeout();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(0, await daemon.StopAsync());
        await using ChildProcess stranger = Attacker.Start(OtherUser.Stranger, ["listen-seqpacket", path], redirectInput: true);
        Assert.Equal("listening", await stranger.WaitForLineAsync(line => line.Length > 0));
        await client.ConnectionLost.WhenCancelled().WithTimeout();
        stranger.CloseInput();
        await stranger.WaitForExitAsync();

        Assert.True(held.IsLost);
        Assert.DoesNotContain("received", stranger.Output);
    }

    [Fact(Timeout = 120_000)]
    public async Task AHolderLeftAZombieInTheGap_IsNotRestored()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and switch to other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        string sleeper = Path.Combine(daemon.Directory, "sleeper");
        await using ChildProcess parent = Attacker.StartAsRoot(["never-reap", Artifacts.Cli, "run", "--tcp", "1", "--", "sh", "-c", $"echo $$ > {sleeper}; exec sleep 60"], daemon.ClientEnvironment, redirectInput: true);
        string child = await parent.WaitForLineAsync(line => line.StartsWith("child ", StringComparison.Ordinal));
        int holder = int.Parse(child["child ".Length..], CultureInfo.InvariantCulture);
        await using PortReservationClient admin = await daemon.ConnectAsync();
        await Timeouts.Eventually(async () => (await admin.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken)).Any(r => r.OwnerPid == holder), "the run command holding its port");
        int port = (await admin.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout()).Single(r => r.OwnerPid == holder).StartPort;
        await Timeouts.Eventually(() => File.Exists(sleeper) && File.ReadAllText(sleeper).Trim().Length > 0, "the run command's child started");

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        Signals.Send(holder, Signals.SigKill);
        await Timeouts.Eventually(() => File.ReadAllText($"/proc/{holder}/stat").Contains(") Z ", StringComparison.Ordinal), "the holder being a zombie");

        // Its run command's child goes too, so that the next daemon finds the tree empty and removes it.
        Signals.Send(int.Parse(File.ReadAllText(sleeper).Trim(), CultureInfo.InvariantCulture), Signals.SigKill);
        await daemon.RestartAsync();
        await using PortReservationClient after = await daemon.ConnectAsync();
        IReadOnlyList<PortReservationInfo> listed = await after.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout();
        string stranger = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, port.ToString(CultureInfo.InvariantCulture), daemon.ClientEnvironment);
        parent.CloseInput();

        Assert.DoesNotContain(listed, r => r.StartPort == port);
        Assert.Contains("restored 0 runtime reservation(s)", daemon.Log);
        Assert.Equal("ok", stranger);
    }
}
