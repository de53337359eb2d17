using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// The daemon runs as root, so every path it creates, chmods or writes is a target: a directory another user can
/// write lets that user swap in a link to any file of root's. These tests plant the links and run the races.
/// </summary>
public sealed class PathAttackTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prt-paths-").FullName;

    public PathAttackTests() => File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact(Timeout = 90_000)]
    public async Task SocketDirectoryOfAnotherUser_IsRefused_SoTheBindThenChmodRaceHasNothingToSwap()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run the attacker as nobody");
        string sockets = OwnedBy(OtherUser.Nobody, "sockets");
        string secret = RootOnlyFile("secret");
        await using ChildProcess swapper = Attacker.Start(OtherUser.Nobody, ["swap-socket", sockets, secret, "30"]);

        var refusals = new List<string>();
        for (int attempt = 0; attempt < 5; attempt++)
        {
            refusals.Add(await StartDaemonAsync(["--socket", Path.Combine(sockets, "s")]));
        }

        Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(secret));
        Assert.All(refusals, refusal => Assert.Contains($"socket directory {sockets} is owned by uid {OtherUser.Nobody}, not by uid 0", refusal));
    }

    [Fact(Timeout = 60_000)]
    public async Task SocketDirectoryOthersMayWrite_IsRefused()
    {
        string sockets = Path.Combine(_directory, "open");
        Directory.CreateDirectory(sockets);
        File.SetUnixFileMode(sockets, (UnixFileMode)0b111_111_111);

        string refusal = await StartDaemonAsync(["--socket", Path.Combine(sockets, "s")]);

        Assert.Contains($"socket directory {sockets} may be written by users other than its owner (mode 0777)", refusal);
    }

    [Fact(Timeout = 60_000)]
    public async Task StateDirectoryPlantedByAnotherUser_IsRefused_AndNothingIsWrittenThroughItsLinks()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to hand a directory to nobody");
        string state = OwnedBy(OtherUser.Nobody, "state");
        string kernelPortsTarget = RootOnlyFile("kernel-ports-target");
        string treesTarget = RootOnlyFile("trees-target");
        PlantLink(Path.Combine(state, "kernel-ports"), kernelPortsTarget, OtherUser.Nobody);
        PlantLink(Path.Combine(state, "process-trees.new"), treesTarget, OtherUser.Nobody);

        string refusal = await StartDaemonAsync(["--state-dir", state]);

        Assert.Contains($"state directory {state} is owned by uid {OtherUser.Nobody}, not by uid 0", refusal);
        Assert.Equal("root's own\n", File.ReadAllText(kernelPortsTarget));
        Assert.Equal("root's own\n", File.ReadAllText(treesTarget));
    }

    [Fact(Timeout = 60_000)]
    public async Task LinkLeftInTheStateDirectory_IsNeverWrittenThrough()
    {
        string state = Path.Combine(_directory, "state");
        Directory.CreateDirectory(state);
        string target = RootOnlyFile("target");
        PlantLink(Path.Combine(state, "kernel-ports"), target, owner: 0);

        string refusal = await StartDaemonAsync(["--state-dir", state]);

        Assert.Contains($"{state}/kernel-ports is a symbolic link; portreserved does not write through links", refusal);
        Assert.Equal("root's own\n", File.ReadAllText(target));
    }

    [Fact(Timeout = 60_000)]
    public async Task PerUserFallbackUnderTmp_CreatedByAnotherUser_IsRefusedByThePerUserDaemon()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run a per-user daemon as nobody");
        string tmp = Path.Combine(_directory, "tmp");
        Directory.CreateDirectory(tmp);
        File.SetUnixFileMode(tmp, (UnixFileMode)0b1_111_111_111);
        string squatted = Path.Combine(tmp, $"portreserve-{OtherUser.Nobody}");
        Directory.CreateDirectory(squatted);
        File.SetUnixFileMode(squatted, (UnixFileMode)0b111_111_111);
        Chown(squatted, OtherUser.Stranger);
        string state = OwnedBy(OtherUser.Nobody, "nobody-state");

        (int exit, string output) = await OtherUser.RunAsync(
            OtherUser.Nobody, OtherUser.Nobody, Artifacts.Daemon, ["--state-dir", state, "--config-dir", Path.Combine(state, "reservations.d")],
            new Dictionary<string, string?> { ["TMPDIR"] = tmp, ["XDG_RUNTIME_DIR"] = null });

        Assert.True(exit == 1 && !output.Contains("Unhandled", StringComparison.Ordinal), output);
        Assert.Contains($"socket directory {squatted} is owned by uid {OtherUser.Stranger}, not by uid {OtherUser.Nobody}", output);
    }

    [Fact(Timeout = 60_000)]
    public async Task PerUserFallbackUnderTmp_ServedByAnotherUsersDaemon_IsRefusedByTheClient()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run a daemon as nobody and a client as another uid");
        Assert.SkipWhen(File.Exists("/run/portreserve/portreserved.sock"), "a system daemon answers first, before the per-user place is tried");
        string tmp = Path.Combine(_directory, "tmp");
        Directory.CreateDirectory(tmp);
        File.SetUnixFileMode(tmp, (UnixFileMode)0b1_111_111_111);
        string squatted = OwnedBy(OtherUser.Nobody, Path.Combine("tmp", $"portreserve-{OtherUser.Stranger}"));
        string state = OwnedBy(OtherUser.Nobody, "nobody-state");
        var environment = new Dictionary<string, string?> { ["TMPDIR"] = tmp, ["XDG_RUNTIME_DIR"] = null, ["PORTRESERVE_SOCKET"] = null };

        // Nobody makes the stranger's per-user place first and serves it with a daemon of its own.
        await using ChildProcess squatter = OtherUser.Start(
            OtherUser.Nobody, OtherUser.Nobody, Artifacts.Daemon, ["--socket", Path.Combine(squatted, "portreserved.sock"), "--state-dir", state, "--config-dir", Path.Combine(state, "reservations.d")], environment);
        await squatter.WaitForLineAsync(l => l.Contains(" listening on ", StringComparison.Ordinal));
        string[] list = ["show"];
        (int found, string foundOutput) = await OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, OtherUser.Reachable(Artifacts.Cli), list, environment);
        (int named, string namedOutput) = await OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, OtherUser.Reachable(Artifacts.Cli), ["--socket", Path.Combine(squatted, "portreserved.sock"), .. list], environment);

        Assert.True(found == 3, foundOutput);
        Assert.Contains($"served by uid {OtherUser.Nobody}, neither root nor you", foundOutput);
        Assert.True(named == 0, namedOutput);
    }

    /// <summary>Starts a daemon that should refuse to start; returns its output. One that starts anyway is stopped, and its output returned.</summary>
    private async Task<string> StartDaemonAsync(string[] arguments)
    {
        KernelList.EnsurePrivateNamespace();
        var options = new Dictionary<string, string>
        {
            ["--socket"] = Path.Combine(_directory, "s"),
            ["--state-dir"] = Path.Combine(_directory, "default-state"),
            ["--config-dir"] = Path.Combine(_directory, "reservations.d"),
            ["--kernel-sync"] = "off",
            ["--exclusive-binds"] = "off",
        };
        for (int i = 0; i + 1 < arguments.Length; i += 2)
        {
            options[arguments[i]] = arguments[i + 1];
        }

        await using ChildProcess daemon = ChildProcess.Start(Artifacts.Daemon, options.SelectMany(option => (string[])[option.Key, option.Value]));
        await Task.WhenAny(daemon.Exited, daemon.WaitForLineAsync(l => l.Contains(" listening on ", StringComparison.Ordinal))).WithTimeout();
        if (!daemon.HasExited)
        {
            daemon.Signal(Signals.SigTerm);
        }

        int exit = await daemon.WaitForExitAsync();
        return $"exit {exit}: {daemon.Output}";
    }

    private string OwnedBy(uint uid, string name)
    {
        string path = Path.Combine(_directory, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        Chown(path, uid);
        return path;
    }

    private string RootOnlyFile(string name)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, "root's own\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_000_000);
        return path;
    }

    private static void PlantLink(string link, string target, uint owner)
    {
        File.CreateSymbolicLink(link, target);
        if (owner != 0)
        {
            Chown(link, owner, followLink: false);
        }
    }

    private static void Chown(string path, uint uid, bool followLink = true) => FileOwner.Set(path, uid, followLink: followLink);
}
