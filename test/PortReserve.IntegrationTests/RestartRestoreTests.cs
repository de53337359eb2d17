using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// A daemon restart loses nothing for holders that are still alive: the next daemon restores their runtime reservations
/// from the pinned records, proving each holder is the same process by its pidfs inode; the .NET client reconnects and
/// takes its reservations back without <see cref="PortReservation.Lost"/> firing; a <c>portreserve run</c> command keeps
/// its ports and its process tree. A holder that died in the gap loses its ports, and a process that got its pid gets nothing.
/// </summary>
public sealed class RestartRestoreTests
{
    [Theory(Timeout = 240_000)]
    [InlineData("kill -9")]
    [InlineData("stop")]
    public async Task Restart_LiveHoldersKeepTheirReservations_TheDeadLoseThem_ARecycledPidGetsNothing(string how)
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using PortReservationClient admin = await daemon.ConnectAsync();
        await Persistent.CreateAllowingNobodyAsync(admin, 9214);

        // A .NET holder, a run command whose child binds once told to, and a run command that dies while no daemon runs.
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        string go = Path.Combine(daemon.Directory, "go");
        await using ChildProcess run = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", $"echo ports $PORTRESERVE_TCP; while [ ! -e {go} ]; do sleep 0.1; done; exec {Artifacts.Peer} try-bind tcp ${{PORTRESERVE_TCP%-*}}"], daemon.ClientEnvironment);
        string runPort = Port(await run.WaitForLineAsync(line => line.StartsWith("ports ", StringComparison.Ordinal)));
        await using ChildProcess doomed = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", "echo ports $PORTRESERVE_TCP; exec sleep 20"], daemon.ClientEnvironment);
        string doomedPort = Port(await doomed.WaitForLineAsync(line => line.StartsWith("ports ", StringComparison.Ordinal)));

        if (how == "stop")
        {
            Assert.Equal(0, await daemon.StopAsync());
        }
        else
        {
            daemon.Kill9();
            await daemon.WaitForExitAsync();
        }

        // While no daemon runs: everything is enforced; the doomed holder dies and a stranger gets its pid.
        (string Nobody, string Stranger) persistentWhileDown = await BindAttempt.ByNobodyAndStrangerAsync("9214", daemon.ClientEnvironment);
        string strangerOnHeldWhileDown = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, Port(held.StartPort), daemon.ClientEnvironment);
        string doomedPid = doomed.Pid.ToString(CultureInfo.InvariantCulture);
        doomed.Kill9();
        await doomed.WaitForExitAsync();
        (int recycled, string recycledOutput) = await Attacker.RunAsync(OtherUser.Stranger, ["recycle", doomedPid, "90", Attacker.Python, Attacker.Script, "bind-loop", "tcp", doomedPort, "1"], daemon.ClientEnvironment, TimeSpan.FromSeconds(110));

        await daemon.RestartAsync();

        // The .NET holder is back on its own: it lists, binds and releases as before, and nothing was lost.
        IReadOnlyList<PortReservationInfo> listed = await client.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout();
        bool lostAfterRestart = held.IsLost || client.ConnectionLost.IsCancellationRequested;
        SocketError holderBinds = BindReserved(held);
        await held.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
        string strangerOnReleased = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, Port(held.StartPort), daemon.ClientEnvironment);

        // The run command's child, started before the restart, binds its port after it.
        IReadOnlyList<PortReservationInfo> all = await admin.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout();
        await File.WriteAllTextAsync(go, string.Empty, TestContext.Current.CancellationToken);
        int runExit = await run.WaitForExitAsync();
        string strangerOnDoomed = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, doomedPort, daemon.ClientEnvironment);
        (string Nobody, string Stranger) persistentAfter = await BindAttempt.ByNobodyAndStrangerAsync("9214", daemon.ClientEnvironment);

        Assert.Equal(("ok", "refused AccessDenied"), persistentWhileDown);
        Assert.Equal("refused AccessDenied", strangerOnHeldWhileDown);
        Assert.True(recycled == 0, recycledOutput);
        Assert.Contains("bound 0 of ", recycledOutput);
        Assert.False(lostAfterRestart);
        Assert.Contains(listed, r => r.StartPort == held.StartPort && r.OwnerPid == Environment.ProcessId && r.Token == held.Token);
        Assert.Equal(SocketError.Success, holderBinds);
        Assert.Equal("ok", strangerOnReleased);
        Assert.Contains(all, r => Port(r.StartPort) == runPort && r.OwnerPid == run.Pid);
        Assert.DoesNotContain(all, r => Port(r.StartPort) == doomedPort);
        Assert.True(runExit == 0, run.Output);
        Assert.Contains("ok ", run.Output);
        Assert.Equal("ok", strangerOnDoomed);
        Assert.Equal(("ok", "refused AccessDenied"), persistentAfter);
    }

    private static string Port(string line) => line["ports ".Length..].Trim().Split('-')[0];

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static SocketError BindReserved(PortReservation reservation)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            reservation.Associate(socket);
            socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

}
