using System.Globalization;
using System.Text.RegularExpressions;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// Unprivileged users holding connections up to every limit, and filling the log with refusals: the daemon lives on,
/// administrators are still served, and the log stays readable.
/// </summary>
public sealed class FloodTests
{
    private const string PickPort = "import portpicker; print(portpicker.pick_unused_port(), flush=True)";

    [Fact(Timeout = 120_000)]
    public async Task AssociatingFromManyConnectionsWithManyReservations_FillsOnlyThatUsersShareOfTheHook()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and switch to other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using PortReservationClient admin = await daemon.ConnectAsync();
        var options = new PersistentReservationOptions();
        options.AllowedUsers.Add("nobody");
        var tokens = new List<string>();
        for (int port = 21_300; port < 21_340; port++)
        {
            ulong token = await admin.CreatePersistentAsync(PortReservationProtocol.Tcp, port, 1, options, TestContext.Current.CancellationToken).WithTimeout();
            tokens.Add(token.ToString(CultureInfo.InvariantCulture));
        }

        // 30 connections × 40 reservations: 1,200 uses asked for, each an entry in the hook's allow map.
        await using ChildProcess flood = Attacker.Start(OtherUser.Nobody, ["associate-many", daemon.SocketPath, "30", "tcp", .. tokens], redirectInput: true);
        string[] outcome = (await flood.WaitForLineAsync(line => line.StartsWith("associated ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split(' ');
        await using PortReservation acquired = await admin.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
        flood.CloseInput();

        Assert.Equal(("1024", "176", "4"), (outcome[1], outcome[2], outcome[3]));
        Assert.True(acquired.StartPort > 0);
    }

    [Fact(Timeout = 120_000)]
    public async Task PortServerFlood_UpToTheOpenFileLimit_NeitherKillsTheDaemonNorLocksOutRoot()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to flood as other uids");
        string address = $"@portreserve-flood-{Environment.ProcessId}-{Guid.NewGuid():N}";
        await using DaemonProcess daemon = await DaemonProcess.StartWithOpenFileLimitAsync(512, "--portserver-address", address);
        var environment = new Dictionary<string, string?> { ["PORTSERVER_ADDRESS"] = address };

        await using ChildProcess nobody = Attacker.Start(OtherUser.Nobody, ["hold-connections", address, "400", "60"]);
        await using ChildProcess stranger = Attacker.Start(OtherUser.Stranger, ["hold-connections", address, "400", "60"]);
        await nobody.WaitForLineAsync(Saturated);
        await stranger.WaitForLineAsync(Saturated);
        (int rootPick, string rootPort) = await ChildProcess.RunAsync(Attacker.Python, ["-c", PickPort], environment);
        (int status, string statusOutput) = await ChildProcess.RunAsync(Artifacts.Cli, ["status"], daemon.ClientEnvironment);
        bool aliveDuringFlood = !daemon.HasExited;
        await nobody.DisposeAsync();
        await stranger.DisposeAsync();
        (int nobodyPick, string nobodyPort) = await PickEventuallyAsync(environment);

        Assert.True(aliveDuringFlood, daemon.Log);
        Assert.True(rootPick == 0 && int.TryParse(rootPort.Trim(), CultureInfo.InvariantCulture, out _), rootPort);
        Assert.True(status == 0, statusOutput);
        Assert.True(nobodyPick == 0, nobodyPort);
        Assert.DoesNotContain("Out of memory", daemon.Log);
        Assert.Contains("open file limit (512, LimitNOFILE)", daemon.Log);
    }

    [Fact(Timeout = 120_000)]
    public async Task EightUidsHoldingTheirConnections_NeverLockOutRootOrAnAdministrator()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to connect as other uids");

        // gid 100 stands in for the admin group.
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--max-connections", "16", "--max-connections-per-uid", "2", "--admin-group", "100");
        var floods = new List<ChildProcess>();
        try
        {
            for (uint uid = OtherUser.Nobody; uid > OtherUser.Nobody - 8; uid--)
            {
                ChildProcess flood = Attacker.Start(uid, ["hold-connections", daemon.SocketPath, "2", "60"]);
                floods.Add(flood);
                await flood.WaitForLineAsync(l => l.StartsWith("holding 2 ", StringComparison.Ordinal));
            }

            (int root, string rootOutput) = await ChildProcess.RunAsync(Artifacts.Cli, ["status"], daemon.ClientEnvironment);
            (int admin, string adminOutput) = await OtherUser.RunAsync(OtherUser.Nobody - 20, 100, Artifacts.Cli, ["status"], daemon.ClientEnvironment);
            (int other, string otherOutput) = await OtherUser.RunAsync(OtherUser.Nobody - 21, OtherUser.Nobody - 21, Artifacts.Cli, ["status"], daemon.ClientEnvironment);

            Assert.True(root == 0, rootOutput);
            Assert.True(admin == 0, adminOutput);
            Assert.True(other == 7, otherOutput);
            Assert.Contains("its limit (--max-connections)", otherOutput);
        }
        finally
        {
            foreach (ChildProcess flood in floods)
            {
                await flood.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task FiveThousandRefusedRequests_LogTwentyLinesAndOneCount_NotFiveThousand()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to send the requests as nobody");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await Attacker.RunAsync(OtherUser.Nobody, ["refused-requests", daemon.SocketPath, "5000"]);
        await Timeouts.Eventually(() => daemon.Log.Contains($"line(s) about requests of uid {OtherUser.Nobody} were not logged", StringComparison.Ordinal), "the held-back refusals are counted in one line", TimeSpan.FromSeconds(15));

        Assert.True(exit == 0 && output.Contains("refused 5000", StringComparison.Ordinal), output);
        Assert.Equal(20, Regex.Count(daemon.Log, $"refused to release for pid \\d+ uid {OtherUser.Nobody}"));
        Assert.Contains($"4980 more line(s) about requests of uid {OtherUser.Nobody} were not logged: at most 20 lines per uid every 10 s", daemon.Log);
    }

    [Fact(Timeout = 60_000)]
    public async Task BindingAReservedPortInATightLoop_LogsTwentyLinesAndOneCount_AndLeavesOthersTheirLines()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using PortReservationClient holder = await daemon.ConnectAsync();
        await using PortReservation held = await holder.AcquireAsync(PortReservationProtocol.Tcp, 7320, 1, TestContext.Current.CancellationToken).WithTimeout();

        (int exit, string loop) = await Attacker.RunAsync(OtherUser.Stranger, ["bind-loop", "tcp", "7320", "3"], daemon.ClientEnvironment);
        string nobody = await BindAttempt.AsUserAsync(OtherUser.Nobody, OtherUser.Nobody, "7320", daemon.ClientEnvironment);
        await daemon.WaitForLogLineAsync(line => line.Contains($"uid {OtherUser.Nobody}: the port is in the runtime reservation TCP 7320", StringComparison.Ordinal));
        await Timeouts.Eventually(() => daemon.Log.Contains($"line(s) about requests of uid {OtherUser.Stranger} were not logged", StringComparison.Ordinal), "the held-back refused binds are counted in one line", TimeSpan.FromSeconds(15));
        PortReserveStatus status = await holder.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
        int tries = int.Parse(loop.Trim().Split(' ')[^1], CultureInfo.InvariantCulture);

        Assert.True(exit == 0 && loop.StartsWith("bound 0 of ", StringComparison.Ordinal), loop);
        Assert.True(tries > 1000, loop);
        Assert.Equal("refused AccessDenied", nobody);
        Assert.InRange(Regex.Count(daemon.Log, $"refused a bind to TCP port 7320 by pid \\d+ \\(python3\\) uid {OtherUser.Stranger}"), 1, 2 * RequestAuditLines);
        Assert.InRange(status.RefusedBinds, 2, tries + 1);
        Assert.Equal(5, status.RecentRefusedBinds.Count);
    }

    private const int RequestAuditLines = 20;

    /// <summary>A flood's report once it has met the daemon's limits: connections it opened were closed (and opened again) or refused.</summary>
    private static bool Saturated(string report)
        => report.Split(' ') is ["holding", _, "opened", var opened, "refused", var refused]
            && (int.Parse(opened, CultureInfo.InvariantCulture) > 400 || int.Parse(refused, CultureInfo.InvariantCulture) > 0);

    /// <summary>Once the flood is gone (the daemon notices its closes as they come), an unprivileged user is served again.</summary>
    private static Task<(int ExitCode, string Output)> PickEventuallyAsync(Dictionary<string, string?> environment)
        => Timeouts.Eventually(() => OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Attacker.Python, ["-c", PickPort], environment), r => r.ExitCode == 0);
}
