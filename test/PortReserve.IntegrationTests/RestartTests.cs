using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// Enforcement outlives the daemon: its bind hooks and their maps are pinned in a bpf filesystem (each test daemon's
/// own), so a killed or stopped daemon leaves every reservation enforced, and the next one takes the hooks over
/// without a moment in which a bind goes unchecked. Runtime reservations lapse after the restart grace with no daemon;
/// <c>portreserved --release-kernel</c> removes everything at once.
/// </summary>
public sealed class RestartTests
{
    [Fact(Timeout = 120_000)]
    public async Task KilledDaemon_LeavesEveryReservationEnforced_AndTheNextTakesOverWithoutAGap()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using PortReservationClient client = await daemon.ConnectAsync();
        await Persistent.CreateAllowingNobodyAsync(client, 9210);
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        string runtime = held.StartPort.ToString(CultureInfo.InvariantCulture);

        // A stranger binds the persistent port as fast as it can across a kill and two restarts.
        await using ChildProcess loop = Attacker.Start(OtherUser.Stranger, ["bind-loop", "tcp", "9210", "12"]);
        daemon.Kill9();
        await daemon.WaitForExitAsync();
        (string Nobody, string Stranger) persistentWhileDown = await BindAttempt.ByNobodyAndStrangerAsync("9210", daemon.ClientEnvironment);
        (string Nobody, string Stranger) runtimeWhileDown = await BindAttempt.ByNobodyAndStrangerAsync(runtime, daemon.ClientEnvironment);
        SocketError holderWhileDown = Bind(held.StartPort);
        await daemon.RestartAsync();
        Assert.Equal(0, await daemon.StopAsync());
        await daemon.RestartAsync();
        await loop.WaitForExitAsync();
        (string Nobody, string Stranger) persistentAfter = await BindAttempt.ByNobodyAndStrangerAsync("9210", daemon.ClientEnvironment);

        Assert.Equal(("ok", "refused AccessDenied"), persistentWhileDown);
        Assert.Equal(("refused AccessDenied", "refused AccessDenied"), runtimeWhileDown);
        Assert.Equal(SocketError.Success, holderWhileDown);
        Assert.StartsWith("bound 0 of ", loop.Output.Trim(), StringComparison.Ordinal);
        Assert.Equal(("ok", "refused AccessDenied"), persistentAfter);
        Assert.Equal(["allow", "bind4", "bind6", "exit", "live", "policies", "ports", "postbind4", "postbind6", "runtime"], Directory.GetFileSystemEntries(daemon.BpfDirectory).Select(Path.GetFileName).Order());
    }

    [Fact(Timeout = 90_000)]
    public async Task WithNoDaemonForTheRestartGrace_RuntimeReservationsLapse_PersistentOnesStay()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on", "--restart-grace", "1");
        await using PortReservationClient client = await daemon.ConnectAsync();
        await Persistent.CreateAllowingNobodyAsync(client, 9211);
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        string runtime = held.StartPort.ToString(CultureInfo.InvariantCulture);
        (string Nobody, string Stranger) runtimeWhileRunning = await BindAttempt.ByNobodyAndStrangerAsync(runtime, daemon.ClientEnvironment);

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        await Timeouts.Eventually(
            async () => (await BindAttempt.ByNobodyAndStrangerAsync(runtime, daemon.ClientEnvironment)).Stranger == "ok",
            "the runtime reservation lapses a second after the daemon last renewed it");
        (string Nobody, string Stranger) persistentLater = await BindAttempt.ByNobodyAndStrangerAsync("9211", daemon.ClientEnvironment);

        Assert.Equal(("refused AccessDenied", "refused AccessDenied"), runtimeWhileRunning);
        Assert.Equal(("ok", "refused AccessDenied"), persistentLater);
    }

    [Fact(Timeout = 90_000)]
    public async Task ReleaseKernel_AfterAStop_LeavesNothingEnforced_AndIsRefusedWithExitThreeWhileTheDaemonRuns()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            await Persistent.CreateAllowingNobodyAsync(client, 9212);
        }

        (int whileRunning, string whileRunningOutput) = await daemon.ReleaseKernelAsync();
        Assert.Equal(0, await daemon.StopAsync());
        (string Nobody, string Stranger) stopped = await BindAttempt.ByNobodyAndStrangerAsync("9212", daemon.ClientEnvironment);
        bool listedWhileStopped = KernelList.ContainsAll(9212, 9212);
        (int released, string releasedOutput) = await daemon.ReleaseKernelAsync();
        (string Nobody, string Stranger) afterRelease = await BindAttempt.ByNobodyAndStrangerAsync("9212", daemon.ClientEnvironment);

        Assert.True(whileRunning == 3, whileRunningOutput);
        Assert.Contains("in use by another portreserved", whileRunningOutput);
        Assert.Equal(("ok", "refused AccessDenied"), stopped);
        Assert.True(listedWhileStopped);
        Assert.True(released == 0, releasedOutput);
        Assert.Contains($"detached the bind hooks pinned in {daemon.BpfDirectory}", releasedOutput);
        Assert.Equal(("ok", "ok"), afterRelease);
        Assert.False(KernelList.ContainsAny(9212, 9212));
        Assert.False(Directory.Exists(daemon.BpfDirectory));
    }

    [Fact(Timeout = 60_000)]
    public async Task ReleaseKernel_AfterAStop_RemovesTheProcessTreeOfARunCommand_AndLeavesItRunning()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and make cgroups");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using ChildProcess run = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", "grep ^0:: /proc/self/cgroup && cat > /dev/null"], daemon.ClientEnvironment, redirectInput: true);
        string cgroup = Path.Join(Cgroups.Root, (await run.WaitForLineAsync(l => l.StartsWith("0::", StringComparison.Ordinal)))[3..]);

        Assert.Equal(0, await daemon.StopAsync());
        bool keptByTheStop = Directory.Exists(cgroup);
        (int released, string releasedOutput) = await daemon.ReleaseKernelAsync();
        bool runningAfter = !run.HasExited;
        run.CloseInput();

        Assert.True(keptByTheStop, $"{cgroup} was removed by a stop that keeps runtime reservations for the next daemon");
        Assert.True(released == 0, releasedOutput);
        Assert.Contains("removed the process trees of runtime holders", releasedOutput);
        Assert.False(Directory.Exists(cgroup), $"{cgroup} is still there after --release-kernel");
        Assert.True(runningAfter, run.Output);
    }

    private static SocketError Bind(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
