using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// Exclusive binds with the real daemon's bind hooks: who may bind a reserved port by number, and who gets EACCES. The
/// hooks sit at the root of the machine's cgroup tree and act only in the daemon's network namespace (this test run's).
/// </summary>
public sealed class ExclusiveBindsTests
{
    public static TheoryData<string, string> ProtocolsAndFamilies => new()
    {
        { "tcp", "ipv4" }, { "tcp", "ipv6" }, { "tcp", "dual" },
        { "udp", "ipv4" }, { "udp", "ipv6" }, { "udp", "dual" },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(ProtocolsAndFamilies))]
    public async Task RuntimePort_IsRefusedWithEacces_ToOtherProcessesAndUids_WhileItsHolderBinds(string protocol, string family)
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using PortReservationClient holder = await daemon.ConnectAsync();
        await using PortReservation held = await holder.AcquireAsync(Protocol(protocol), 0, 2, TestContext.Current.CancellationToken).WithTimeout();
        string port = held.StartPort.ToString(CultureInfo.InvariantCulture);

        (int otherProcess, string otherOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", protocol, port, family]);
        SocketError holderBind = Bind(Protocol(protocol), held.StartPort, family);

        Assert.True(otherProcess == 1 && otherOutput.Contains("refused AccessDenied", StringComparison.Ordinal), otherOutput);
        Assert.Equal(SocketError.Success, holderBind);
        if (OtherUser.CanSwitch)
        {
            (int otherUid, string otherUidOutput) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Peer, ["try-bind", protocol, port, family], daemon.ClientEnvironment);
            Assert.True(otherUid == 1 && otherUidOutput.Contains("refused AccessDenied", StringComparison.Ordinal), otherUidOutput);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task OtherProcessesBind_OnceTheHolderReleases_OrDies()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        PortReservation released = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        string releasedPort = released.StartPort.ToString(CultureInfo.InvariantCulture);
        await using ChildProcess peer = ChildProcess.Start(Artifacts.Peer, ["hold", "udp", "0", "1"], daemon.ClientEnvironment, redirectInput: true);
        string killedPort = (await peer.WaitForLineAsync(l => l.Split(' ').Length == 3)).Split(' ')[1];

        (int whileHeld, _) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", releasedPort]);
        await released.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
        (int afterRelease, string afterReleaseOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", releasedPort]);
        peer.Kill9();
        await peer.WaitForExitAsync();
        await Timeouts.Eventually(() => !KernelList.Ports().Contains(int.Parse(killedPort, CultureInfo.InvariantCulture)), "the killed holder's port is released");
        (int afterKill, string afterKillOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "udp", killedPort]);

        Assert.Equal(1, whileHeld);
        Assert.True(afterRelease == 0, afterReleaseOutput);
        Assert.True(afterKill == 0, afterKillOutput);
    }

    [Fact(Timeout = 60_000)]
    public async Task PortreserveRun_TheCommandAndItsGrandchildrenBind_WhileOthersAreRefused()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        string peer = Artifacts.Peer;

        // The command binds, then a grandchild (a shell's child) binds the other port, then both report.
        string script = $"\"{peer}\" try-bind tcp ${{PORTRESERVE_TCP%-*}} && sh -c '\"{peer}\" try-bind tcp ${{PORTRESERVE_TCP#*-}}' && grep ^0:: /proc/self/cgroup && echo \"held $PORTRESERVE_TCP\" && cat > /dev/null";
        await using ChildProcess run = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "2", "--", "sh", "-c", script], daemon.ClientEnvironment, redirectInput: true);
        string held = await run.WaitForLineAsync(l => l.StartsWith("held ", StringComparison.Ordinal) || l.StartsWith("refused", StringComparison.Ordinal));
        Assert.StartsWith("held ", held, StringComparison.Ordinal);
        string first = held.Split(' ')[1].Split('-')[0];

        (int outsider, string outsiderOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", first]);
        run.CloseInput();
        int runExit = await run.WaitForExitAsync();

        // The command ran in a cgroup of its own, which goes with the reservation.
        string cgroup = Path.Join(Cgroups.Root, (await run.WaitForLineAsync(l => l.StartsWith("0::", StringComparison.Ordinal)))[3..]);
        await Timeouts.Eventually(() => !Directory.Exists(cgroup), $"{cgroup} is removed after the command exits", TimeSpan.FromSeconds(5));

        Assert.True(outsider == 1 && outsiderOutput.Contains("refused AccessDenied", StringComparison.Ordinal), outsiderOutput);
        Assert.True(runExit == 0, run.Output);
        Assert.Equal(2, run.Output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        Assert.Contains("/portreserve-", cgroup);
    }

    [Fact(Timeout = 60_000)]
    public async Task RunCommandsCgroup_LeftByAKilledDaemon_IsRemovedWhenItRestarts()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess run = ChildProcess.Start(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", "grep ^0:: /proc/self/cgroup && cat > /dev/null"], daemon.ClientEnvironment, redirectInput: true);
        string cgroup = Path.Join(Cgroups.Root, (await run.WaitForLineAsync(l => l.StartsWith("0::", StringComparison.Ordinal)))[3..]);

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        run.CloseInput();
        await run.WaitForExitAsync();
        bool leftBehind = Directory.Exists(cgroup);
        await daemon.RestartAsync();

        Assert.True(leftBehind, $"{cgroup} was removed by a daemon that was killed");
        Assert.False(Directory.Exists(cgroup), $"{cgroup} is still there after the daemon restarted");
    }

    [Fact(Timeout = 60_000)]
    public async Task ProcessInAnotherNetworkNamespace_BindsTheHeldPort()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        string port = held.StartPort.ToString(CultureInfo.InvariantCulture);

        (int here, _) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", port]);
        (int elsewhere, string elsewhereOutput) = await ChildProcess.RunAsync("unshare", ["--net", "sh", "-c", $"ip link set lo up && exec \"{Artifacts.Peer}\" try-bind tcp {port}"]);

        Assert.Equal(1, here);
        Assert.True(elsewhere == 0, elsewhereOutput);
    }

    [Fact(Timeout = 90_000)]
    public async Task PersistentPort_BindsForAdministratorsAndAllowedUsersOnly_AlsoWhileTheDaemonIsKilled_AndAfterItRestarts()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run binds under other uids");

        // Members of the admin group are administrators; gid 100 ("users") stands in for it.
        await using DaemonProcess daemon = await StartEnforcingAsync("--admin-group", "100");
        await using (PortReservationClient root = await daemon.ConnectAsync())
        {
            await Persistent.CreateAllowingNobodyAsync(root, 9200);
        }

        (string Allowed, string Admin, string Stranger, string Root) before = await WhoBindsAsync(daemon, "9200");
        daemon.Kill9();
        await daemon.WaitForExitAsync();
        (string Allowed, string Admin, string Stranger, string Root) whileDown = await WhoBindsAsync(daemon, "9200");
        await daemon.RestartAsync();
        (string Allowed, string Admin, string Stranger, string Root) after = await WhoBindsAsync(daemon, "9200");

        Assert.Equal(("ok", "ok", "refused AccessDenied", "ok"), before);
        Assert.Equal(before, whileDown);
        Assert.Equal(before, after);
    }

    [Fact(Timeout = 60_000)]
    public async Task ARefusedBind_IsLoggedWithTheBindersPidPortAndTheReservationThatRefusedIt_AndListedInStatus()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using PortReservationClient holder = await daemon.ConnectAsync();
        await using PortReservation held = await holder.AcquireAsync(PortReservationProtocol.Udp, 7310, 1, TestContext.Current.CancellationToken).WithTimeout();

        // The test peer binds as any program would: its pid is the one the hook sees.
        await using ChildProcess binder = ChildProcess.Start(Artifacts.Peer, ["try-bind", "udp", "7310", "dual"]);
        int pid = binder.Pid;
        Assert.Equal(1, await binder.WaitForExitAsync());
        string logged = await daemon.WaitForLogLineAsync(line => line.Contains("refused a bind to UDP port 7310", StringComparison.Ordinal));
        (int exit, string status) = await ChildProcess.RunAsync(Artifacts.Cli, ["status"], daemon.ClientEnvironment);

        Assert.EndsWith($"warn: refused a bind to UDP port 7310 by pid {pid} (PortReserve.Tes) uid 0: the port is in the runtime reservation UDP 7310 held by pid {Environment.ProcessId} (uid 0)", logged, StringComparison.Ordinal);
        Assert.True(exit == 0, status);
        Assert.Contains("refused binds:   1; the last (the daemon's log says whose reservation refused each):", status);
        Assert.Contains($"                 UDP port 7310 by pid {pid} (PortReserve.Tes) uid 0", status);
    }

    [Fact(Timeout = 60_000)]
    public async Task InAPidNamespaceWithItsOwnProc_TheDaemonDoesNotAttachTheHooks_WhosePidsItCannotSee()
    {
        // There the daemon's pids are not the hook's, so a grant to one process would go to another; NSpid in the
        // namespace's own /proc shows one pid, as in the initial namespace.
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to make a pid namespace with its own /proc");
        await using DaemonProcess daemon = await DaemonProcess.StartInPidNamespaceAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();

        PortReserveStatus status = await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.False(status.ExclusiveBindsActive, status.ExclusiveBindsDetail);
        Assert.Contains("portreserved runs in a pid namespace", status.ExclusiveBindsDetail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task PortZeroAndUnreservedPorts_BindAsBefore()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 100, TestContext.Current.CancellationToken).WithTimeout();

        (int portZero, string portZeroOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", "0"]);
        (int unreserved, string unreservedOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", (held.EndPort + 1).ToString(CultureInfo.InvariantCulture)]);

        Assert.True(portZero == 0, portZeroOutput);
        Assert.True(unreserved == 0, unreservedOutput);
    }

    [Fact(Timeout = 60_000)]
    public async Task DotNetClientOfAnotherProcess_SeesTheRefusalAsAccessDenied()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess peer = ChildProcess.Start(Artifacts.Peer, ["hold", "tcp", "0", "1"], daemon.ClientEnvironment, redirectInput: true);
        int port = int.Parse((await peer.WaitForLineAsync(l => l.Split(' ').Length == 3)).Split(' ')[1], CultureInfo.InvariantCulture);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        SocketException refused = Assert.Throws<SocketException>(() => socket.Bind(new IPEndPoint(IPAddress.Loopback, port)));

        Assert.Equal(SocketError.AccessDenied, refused.SocketErrorCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Status_SaysWhetherBindsAreExclusive_AndWhy()
    {
        KernelAbility.SkipUnlessBindHooks();
        await using DaemonProcess enforcing = await DaemonProcess.StartAsync();
        await using DaemonProcess off = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");

        (int exit, string text) = await ChildProcess.RunAsync(Artifacts.Cli, ["status"], enforcing.ClientEnvironment);
        (_, string json) = await ChildProcess.RunAsync(Artifacts.Cli, ["status", "--json"], off.ClientEnvironment);

        Assert.True(exit == 0, text);
        Assert.Contains("exclusive binds: auto: on: bind hooks attached at ", text);
        Assert.Contains("\"exclusiveBindsActive\":false", json.Replace(" ", string.Empty, StringComparison.Ordinal));
        Assert.Contains("--exclusive-binds off", json);
    }

    [Fact(Timeout = 60_000)]
    public async Task ExclusiveBindsOn_WhereTheyCannotBeEnforced_RefusesToStartSayingWhy()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to start the daemon as another uid");
        string directory = NobodysDirectory();
        try
        {
            (int exit, string output) = await OtherUser.RunAsync(
                OtherUser.Nobody, OtherUser.Nobody, Artifacts.Daemon,
                ["--socket", Path.Combine(directory, "s"), "--state-dir", Path.Combine(directory, "state"), "--config-dir", Path.Combine(directory, "reservations.d"), "--kernel-sync", "off", "--exclusive-binds", "on"],
                new Dictionary<string, string?>());

            Assert.True(exit == 1 && !output.Contains("Unhandled", StringComparison.Ordinal), output.Replace("\n", " | ", StringComparison.Ordinal));
            Assert.Contains("--exclusive-binds on, but the bind hooks cannot be attached: portreserved is not running as root", output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task PerUserDaemonsStatus_SaysItsReservationsAreKeptFromNothing_SinceItWritesNoKernelList()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to start the daemon as another uid");
        string directory = NobodysDirectory();
        string socket = Path.Combine(directory, "s");
        try
        {
            await using ChildProcess daemon = OtherUser.Start(
                OtherUser.Nobody, OtherUser.Nobody, Artifacts.Daemon,
                ["--socket", socket, "--state-dir", Path.Combine(directory, "state"), "--config-dir", Path.Combine(directory, "reservations.d")],
                new Dictionary<string, string?>());
            await daemon.WaitForLineAsync(l => l.Contains(" listening on ", StringComparison.Ordinal));

            (int exit, string status) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Cli, ["--socket", socket, "status"], new Dictionary<string, string?>());
            daemon.Signal(Signals.SigTerm);

            Assert.True(exit == 0, status);
            Assert.DoesNotContain("kept from automatic", status);
            Assert.DoesNotContain("kept from automatic", daemon.Output);
            Assert.Contains("reservations are not enforced in the kernel", status);
            Assert.Contains("anyone may bind reserved ports by number", status);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A temp directory of nobody's own (mode 0755), as a per-user daemon of nobody's may keep its socket and state in.</summary>
    private static string NobodysDirectory()
    {
        string directory = Directory.CreateTempSubdirectory("prt-nobody-").FullName;
        FileOwner.Set(directory, OtherUser.Nobody);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        return directory;
    }

    /// <summary>A daemon that must enforce exclusive binds: where it cannot, the test says so rather than passing vacuously.</summary>
    private static Task<DaemonProcess> StartEnforcingAsync(params string[] arguments) => DaemonProcess.StartAsync("", ["--exclusive-binds", "on", .. arguments]);

    /// <summary>How a bind to <paramref name="port"/> fares for the allowed user, an admin-group member, a stranger and root.</summary>
    private static async Task<(string Allowed, string Admin, string Stranger, string Root)> WhoBindsAsync(DaemonProcess daemon, string port)
    {
        string allowed = await BindAttempt.AsUserAsync(OtherUser.Nobody, OtherUser.Nobody, port, daemon.ClientEnvironment);
        string admin = await BindAttempt.AsUserAsync(OtherUser.Stranger, 100, port, daemon.ClientEnvironment);
        string stranger = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, port, daemon.ClientEnvironment);
        return (allowed, admin, stranger, await BindAttempt.AsRootAsync(port));
    }

    /// <summary>Where the cgroup v2 hierarchy is mounted, from mountinfo.</summary>

    private static PortReservationProtocol Protocol(string name) => name == "udp" ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp;

    private static SocketError Bind(PortReservationProtocol protocol, int port, string family)
    {
        AddressFamily addressFamily = family == "ipv4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        using var socket = protocol == PortReservationProtocol.Tcp
            ? new Socket(addressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(addressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (family != "ipv4")
        {
            socket.DualMode = family == "dual";
        }

        try
        {
            socket.Bind(new IPEndPoint(family == "ipv4" ? IPAddress.Loopback : family == "dual" ? IPAddress.IPv6Any : IPAddress.IPv6Loopback, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
