using System.Globalization;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// A pid is a number the kernel hands out again: a holder that handed its connection on (as a daemonizing service does)
/// and exited leaves its pid to whoever forks until they get it. These tests fork until the pid comes back and check
/// that the newcomer inherits nothing, and they attack the process trees of <c>portreserve run</c>.
/// </summary>
public sealed class ProcessIdentityTests
{
    private static readonly TimeSpan s_recycling = TimeSpan.FromSeconds(90);

    [Fact(Timeout = 180_000)]
    public async Task RecycledPidOfARuntimeHolder_CannotBindItsPort_SeeItsToken_OrReleaseIt()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess holder = Attacker.Start(OtherUser.Nobody, ["orphan", daemon.SocketPath, "tcp", "0", "1"], daemon.ClientEnvironment, redirectInput: true);
        try
        {
            string[] held = (await holder.WaitForLineAsync(l => l.Split(' ').Length == 4)).Split(' ');
            (string token, string port, string pid) = (held[0], held[1], held[3]);

            (int exit, string output) = await RecycleAsync(OtherUser.Stranger, pid, [OtherUser.Reachable(Artifacts.Peer), "as-recycled", "tcp", port, token], daemon.ClientEnvironment);
            await using PortReservationClient root = await daemon.ConnectAsync();
            IReadOnlyList<PortReservationInfo> listed = await root.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

            Assert.True(exit is 0 or 1 && output.Contains($"recycled pid {pid}", StringComparison.Ordinal), output);
            Assert.Contains("bind refused AccessDenied", output);
            Assert.Contains("release AccessDenied", output);
            Assert.Contains("token hidden", output);
            Assert.Single(listed, r => r.StartPort == int.Parse(port, CultureInfo.InvariantCulture) && r.Kind == PortReservationKind.Runtime);
        }
        finally
        {
            holder.CloseInput();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task RecycledPidOfARuntimeHolder_CannotBindItsPort_EvenWhileTheDaemonIsStoppedAndCannotHearOfTheExit()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess holder = Attacker.Start(OtherUser.Nobody, ["orphan", daemon.SocketPath, "tcp", "0", "1", "wait"], daemon.ClientEnvironment, redirectInput: true);
        try
        {
            string[] held = (await holder.WaitForLineAsync(l => l.Split(' ').Length == 4)).Split(' ');
            (string port, string pid) = (held[1], held[3]);

            // The bind hook works on while the daemon is stopped; so must the revocation of an exited holder's pid.
            Signals.Send(daemon.Pid, Signals.SigStop);
            (int exit, string output) = (0, string.Empty);
            try
            {
                // Its output lives on in the child that kept the connection, so its exit is all there is to wait for.
                Signals.Send(int.Parse(pid, CultureInfo.InvariantCulture), Signals.SigUsr1);
                await Timeouts.Eventually(() => holder.HasExited, "the holder exited");
                (exit, output) = await RecycleAsync(OtherUser.Stranger, pid, [OtherUser.Reachable(Artifacts.Peer), "try-bind", "tcp", port], daemon.ClientEnvironment);
            }
            finally
            {
                Signals.Send(daemon.Pid, Signals.SigCont);
            }

            Assert.True(exit == 1 && output.Contains("refused AccessDenied", StringComparison.Ordinal) && output.Contains($"recycled pid {pid}", StringComparison.Ordinal), output);
        }
        finally
        {
            holder.CloseInput();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task RecycledPidOfAProcessThatAssociatedWithAPersistentReservation_CannotBindIt()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        ulong token = await CreateForUsersAsync(daemon, 9400);

        // Allowed through a supplementary group only, so its bind right is the one the daemon gives its process.
        await using ChildProcess holder = OtherUser.Start(
            OtherUser.Nobody, OtherUser.Nobody, Attacker.Python, [Attacker.Script, "orphan-associate", daemon.SocketPath, token.ToString(CultureInfo.InvariantCulture), "tcp"],
            daemon.ClientEnvironment, supplementaryGroups: [100], redirectInput: true);
        try
        {
            string[] associated = (await holder.WaitForLineAsync(l => l.Split(' ').Length == 2)).Split(' ');
            (int exit, string output) = await RecycleAsync(OtherUser.Stranger, associated[1], [OtherUser.Reachable(Artifacts.Peer), "try-bind", "tcp", "9400"], daemon.ClientEnvironment);

            Assert.Equal("0", associated[0]);
            Assert.True(exit == 1 && output.Contains("refused AccessDenied", StringComparison.Ordinal), output);
        }
        finally
        {
            holder.CloseInput();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ProcessThatOnlyAssociated_LosesItsBindRight_WhenItClosesItsConnection()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        ulong token = await CreateForUsersAsync(daemon, 9410);

        // It held no reservation of its own: closing its connection ends only the right its associate gave its process.
        (int exit, string output) = await OtherUser.RunAsync(
            OtherUser.Nobody, OtherUser.Nobody, Attacker.Python, [Attacker.Script, "associate-close", daemon.SocketPath, token.ToString(CultureInfo.InvariantCulture), "tcp", "9410", "10"],
            daemon.ClientEnvironment, supplementaryGroups: [100]);

        Assert.True(exit == 0 && output.Contains("associate 0", StringComparison.Ordinal) && output.Contains("bind ok", StringComparison.Ordinal), output);
        Assert.Contains("revoked EACCES", output);
    }

    [Fact(Timeout = 60_000)]
    public async Task ConnectionWhoseOpenerIsAnUnreapedZombie_GetsNoReservation()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess attacker = Attacker.Start(OtherUser.Nobody, ["zombie-orphan", daemon.SocketPath], daemon.ClientEnvironment, redirectInput: true);
        try
        {
            // The zombie keeps its pid until reaped, but it has exited: nothing its pid does later is its doing.
            await attacker.WaitForLineAsync(l => l.StartsWith("orphaned ", StringComparison.Ordinal));
            await attacker.WriteLineAsync("acquire");
            string acquire = await attacker.WaitForLineAsync(l => l.StartsWith("acquire ", StringComparison.Ordinal));
            await using PortReservationClient root = await daemon.ConnectAsync();
            IReadOnlyList<PortReservationInfo> listed = await root.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

            Assert.Equal("acquire 2", acquire);
            Assert.Empty(listed);
        }
        finally
        {
            attacker.CloseInput();
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task ShareRequestedOnAnOrphanedConnection_NeverMovesTheProcessThatGotItsPid()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attack as another uid");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        await using ChildProcess attacker = Attacker.Start(OtherUser.Nobody, ["orphan", daemon.SocketPath, "tcp", "0", "1"], daemon.ClientEnvironment, redirectInput: true);
        try
        {
            string pid = (await attacker.WaitForLineAsync(l => l.Split(' ').Length == 4)).Split(' ')[3];

            // A victim of root's gets the pid: the attacker then asks the daemon to move "its" process.
            await using ChildProcess victim = Attacker.StartAsRoot(["recycle", pid, s_recycling.TotalSeconds.ToString(CultureInfo.InvariantCulture), "sleep", "120"]);
            await Timeouts.Eventually(() => Command(pid) == "sleep", $"a sleep of root's has pid {pid}", s_recycling);
            string before = CgroupOf(pid);
            await attacker.WriteLineAsync("share");
            string share = await attacker.WaitForLineAsync(l => l.StartsWith("share ", StringComparison.Ordinal));
            string after = CgroupOf(pid);

            // The sleep is the victim's child: ending it ends the victim, which then has no descendant to leave behind.
            Signals.Send(int.Parse(pid, CultureInfo.InvariantCulture), Signals.SigKill);
            await victim.WaitForExitAsync();

            Assert.Equal("share 2", share);
            Assert.Equal(before, after);
        }
        finally
        {
            attacker.CloseInput();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ShareAskedAgainAndAgain_MakesOneProcessTree_NotAChain()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Peer, ["share-repeatedly", "20"], daemon.ClientEnvironment);
        string[] cgroups = [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())];

        Assert.True(exit == 0 && cgroups.Length == 20, output);
        Assert.Single(cgroups.Distinct());
        Assert.Equal(1, cgroups[0].Split('/').Count(part => part.StartsWith("portreserve-", StringComparison.Ordinal)));
    }

    [Fact(Timeout = 60_000)]
    public async Task ChildCgroupMadeInsideARunTree_StillBindsTheRunsPorts_AndGoesWithTheTree()
    {
        await using DaemonProcess daemon = await StartEnforcingAsync();
        string root = Cgroups.Root;
        string script = $"""
            tree="{root}$(sed -n 's/^0:://p' /proc/self/cgroup)"
            mkdir "$tree/child" && echo $$ > "$tree/child/cgroup.procs" && echo "tree $tree"
            "{Artifacts.Peer}" try-bind tcp ${"{"}PORTRESERVE_TCP%-*{"}"}
            """;

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Cli, ["run", "--tcp", "1", "--", "sh", "-c", script], daemon.ClientEnvironment);
        string tree = output.Split('\n').Single(l => l.StartsWith("tree ", StringComparison.Ordinal))[5..].Trim();

        Assert.True(exit == 0 && output.Contains("ok ", StringComparison.Ordinal), output);
        Assert.Contains("/portreserve-", tree);
        await Timeouts.Eventually(() => !Directory.Exists(tree), $"{tree} and its child are removed once the command is done", TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 60_000)]
    public async Task CgroupNamesPreparedInADelegatedSubtree_AreNeverUsed()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to delegate a subtree to nobody");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        string delegated = Path.Combine(Cgroups.Root, $"prt-delegated-{Guid.NewGuid():N}");
        Directory.CreateDirectory(delegated);
        try
        {
            foreach (string file in (string[])[delegated, Path.Combine(delegated, "cgroup.procs"), Path.Combine(delegated, "cgroup.subtree_control")])
            {
                FileOwner.Set(file, OtherUser.Nobody);
            }

            // The names an earlier daemon chose were its pid and the connection's number: nobody makes them first.
            for (int connection = 1; connection <= 20; connection++)
            {
                (int made, string madeOutput) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, "mkdir", [Path.Combine(delegated, $"portreserve-{daemon.Pid}-{connection}")], new Dictionary<string, string?>());
                Assert.True(made == 0, madeOutput);
            }

            await using ChildProcess run = OtherUser.Start(OtherUser.Nobody, OtherUser.Nobody, "sh", ["-c", $"read go; exec \"{OtherUser.Reachable(Artifacts.Cli)}\" run --tcp 1 -- sed -n 's/^0:://p' /proc/self/cgroup"], daemon.ClientEnvironment, redirectInput: true);
            await File.WriteAllTextAsync(Path.Combine(delegated, "cgroup.procs"), run.Pid.ToString(CultureInfo.InvariantCulture), TestContext.Current.CancellationToken);
            await run.WriteLineAsync("go");
            int exit = await run.WaitForExitAsync();
            string cgroup = Cgroups.Root + run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim();

            Assert.True(exit == 0, run.Output);
            Assert.StartsWith(delegated + "/portreserve-", cgroup);
            Assert.DoesNotMatch($"/portreserve-{daemon.Pid}-\\d+$", cgroup);
        }
        finally
        {
            // The daemon removes its own tree as the command ends; the names nobody prepared are the test's to remove.
            foreach (string child in Directory.GetDirectories(delegated))
            {
                try
                {
                    Directory.Delete(child);
                }
                catch (DirectoryNotFoundException)
                {
                }
            }

            await Timeouts.Eventually(() => File.ReadAllText(Path.Combine(delegated, "cgroup.procs")).Length == 0, "the delegated cgroup is empty");
            Directory.Delete(delegated);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ProcessWithRealAndEffectiveUidsThatDiffer_IsJudgedByItsRealOnes_AsTheBindHookJudgesIt()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to set a process's ids apart");
        await using DaemonProcess daemon = await StartEnforcingAsync();
        string cli = OtherUser.Reachable(Artifacts.Cli);
        string[] add = ["--socket", daemon.SocketPath, "add", "--protocol", "tcp", "--start", "9500", "--count", "1"];

        (int realNobody, string realNobodyOutput) = await ChildProcess.RunAsync("setpriv", ["--ruid=65534", "--euid=0", "--rgid=65534", "--egid=0", "--clear-groups", "--", cli, .. add]);
        (int realRoot, string realRootOutput) = await ChildProcess.RunAsync("setpriv", ["--ruid=0", "--euid=65534", "--rgid=0", "--egid=65534", "--clear-groups", "--", cli, .. add]);

        Assert.True(realNobody == 4, realNobodyOutput);
        Assert.True(realRoot == 0, realRootOutput);
    }

    private static Task<DaemonProcess> StartEnforcingAsync() => DaemonProcess.StartAsync("", "--exclusive-binds", "on");

    /// <summary>Creates a persistent TCP reservation of <paramref name="port"/> for the group users (gid 100).</summary>
    private static async Task<ulong> CreateForUsersAsync(DaemonProcess daemon, int port)
    {
        await using PortReservationClient root = await daemon.ConnectAsync();
        var options = new PersistentReservationOptions();
        options.AllowedGroups.Add("users");
        return await root.CreatePersistentAsync(PortReservationProtocol.Tcp, port, 1, options, TestContext.Current.CancellationToken).WithTimeout();
    }

    /// <summary>Forks as <paramref name="uid"/> until <paramref name="pid"/> comes back, and runs <paramref name="command"/> in the process that has it.</summary>
    private static Task<(int ExitCode, string Output)> RecycleAsync(uint uid, string pid, string[] command, IDictionary<string, string?> environment)
        => Attacker.RunAsync(uid, ["recycle", pid, s_recycling.TotalSeconds.ToString(CultureInfo.InvariantCulture), .. command], environment, s_recycling + TimeSpan.FromSeconds(10));

    private static string? Command(string pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0];
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CgroupOf(string pid) => File.ReadLines($"/proc/{pid}/cgroup").First(l => l.StartsWith("0::", StringComparison.Ordinal))[3..];
}
