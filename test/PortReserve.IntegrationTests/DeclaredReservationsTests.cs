using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// Persistent reservations declared in reservations.d files, with the real daemon: applied at start, reloaded with
/// <c>portreserve reload</c> and SIGHUP as a difference, problems reported by FILE:LINE, surviving kill -9.
/// </summary>
public sealed class DeclaredReservationsTests : IDisposable
{
    private readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (string directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task AtStart_DeclaredBlocksAreListedWithTheirFileAndLine_AndInTheKernelList()
    {
        string directory = NewConfigDirectory();
        string file = Write(directory, "10-web.conf", "# web\ntcp 8080 allow-user=nobody\nudp 5000-5019\n\ntcp 9100-9101\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        IReadOnlyList<PortReservationInfo> listing = await ShowAsync(daemon);
        (int showExit, string text) = await Cli(daemon, "show");

        Assert.Equal([("tcp", 8080, 1, $"{file}:2"), ("tcp", 9100, 2, $"{file}:5"), ("udp", 5000, 20, $"{file}:3")],
            listing.Select(r => (r.Protocol.ToString().ToLowerInvariant(), r.StartPort, r.Count, r.Source)));
        Assert.All(listing, r => Assert.Equal(PortReservationKind.Persistent, r.Kind));
        Assert.Equal(["nobody(65534)"], listing[0].AllowedUsers);
        Assert.True(KernelList.ContainsAll(8080, 8080) && KernelList.ContainsAll(9100, 9101) && KernelList.ContainsAll(5000, 5019), KernelList.Text);
        Assert.Equal(0, showExit);
        Assert.Contains("Declared at", text, StringComparison.Ordinal);
        Assert.Contains($"{file}:3", text, StringComparison.Ordinal);
        (_, string json) = await Cli(daemon, "--json", "show", "--protocol", "udp");
        using (JsonDocument rows = JsonDocument.Parse(json))
        {
            Assert.Equal($"{file}:3", Assert.Single(rows.RootElement.EnumerateArray(), r => r.GetProperty("kind").GetString() == "persistent").GetProperty("source").GetString());
        }

        (_, string status) = await Cli(daemon, "status");
        Assert.Contains($"declared:        3 persistent reservation(s) from the *.conf files of {directory}", status, StringComparison.Ordinal);
        Assert.Contains($"TCP 8080 at {file}:2", status, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reload_AppliesExactlyTheDifference_AndNeverTouchesAddedOnes()
    {
        string directory = NewConfigDirectory();
        string file = Write(directory, "10-web.conf", "tcp 8080\ntcp 8090 allow-user=nobody\nudp 5000-5019\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);
        (int addExit, string added) = await Cli(daemon, "add", "--protocol", "tcp", "--start", "7000", "--count", "1");
        Assert.True(addExit == 0, added);
        ulong kept = TokenOf(await ShowAsync(daemon), 8090);

        // 8080 goes, 8090's allow-list changes (and its line moves), 5000-5019 stays, 6000-6001 is new.
        Write(directory, "10-web.conf", "# edited\nudp 5000-5019\ntcp 8090 allow-user=nobody,root\ntcp 6000-6001\n");
        (int exit, string output) = await Cli(daemon, "reload");

        Assert.True(exit == 0, output);
        Assert.Equal("reloaded 1 file(s): 1 added, 1 removed, 1 updated, 1 unchanged", output.Trim());
        IReadOnlyList<PortReservationInfo> listing = await ShowAsync(daemon);
        Assert.Equal([(6000, $"{file}:4"), (7000, null), (8090, $"{file}:3"), (5000, $"{file}:2")], listing.Select(r => (r.StartPort, r.Source)));
        PortReservationInfo updated = listing.Single(r => r.StartPort == 8090);
        Assert.Equal(kept, updated.Token);
        Assert.Equal(["root(0)", "nobody(65534)"], updated.AllowedUsers);
        Assert.False(KernelList.ContainsAny(8080, 8080), KernelList.Text);
        Assert.True(KernelList.ContainsAll(6000, 6001) && KernelList.ContainsAll(7000, 7000), KernelList.Text);

        // The same files again: nothing to do.
        (int again, string quiet) = await Cli(daemon, "--json", "reload");
        Assert.Equal(0, again);
        using JsonDocument json = JsonDocument.Parse(quiet);
        Assert.Equal((0, 0, 0, 3), (json.RootElement.GetProperty("added").GetInt32(), json.RootElement.GetProperty("removed").GetInt32(), json.RootElement.GetProperty("updated").GetInt32(), json.RootElement.GetProperty("unchanged").GetInt32()));
    }

    [Fact(Timeout = 60_000)]
    public async Task ASighupRightBeforeAStop_IsAppliedInFull_BeforeTheDaemonExits()
    {
        string directory = NewConfigDirectory();
        Write(directory, "10-web.conf", "tcp 47012\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        Write(directory, "10-web.conf", "tcp 47013\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"udp {47100 + i}\n")));
        // The stop comes once the reload is under way (its first kernel write; the start made changes 1 and 2), so that it
        // finds the reload running, never before it began (a reload asked for during a stop rightly does not start).
        daemon.Signal(Signals.SigHup);
        await Timeouts.Eventually(() => daemon.Log.Contains("up to change 3 in", StringComparison.Ordinal), "the reload under way");
        int exitCode = await daemon.StopAsync();
        string log = daemon.Log;

        Assert.True(log.Split("declared reservations applied").Length - 1 == 2, $"the reload did not finish before the daemon exited; its log:\n{log}");
        Assert.Contains("201 added, 1 removed", log, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Sighup_ReloadsTheFiles()
    {
        string directory = NewConfigDirectory();
        Write(directory, "10-web.conf", "tcp 47010\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        string file = Write(directory, "10-web.conf", "tcp 47011\n");
        daemon.Signal(Signals.SigHup);

        IReadOnlyList<PortReservationInfo> listed = await Timeouts.Eventually(() => ShowAsync(daemon), l => l is [{ StartPort: 47011 }] && KernelList.ContainsAll(47011, 47011) && !KernelList.ContainsAny(47010, 47010));
        await Timeouts.Eventually(() => daemon.Log.Contains("1 added, 1 removed", StringComparison.Ordinal), "the reload's summary is logged");

        PortReservationInfo declared = Assert.Single(listed);
        Assert.Equal((47011, $"{file}:1"), (declared.StartPort, declared.Source));
        Assert.True(KernelList.ContainsAll(47011, 47011) && !KernelList.ContainsAny(47010, 47010), KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task BadAndConflictingLines_AreReportedByFileAndLine_WhileTheRestApplies()
    {
        string directory = NewConfigDirectory();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9500", "--config-dir", directory);
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation runtime = await client.AcquireAsync(PortReservationProtocol.Tcp, 6100, 1, TestContext.Current.CancellationToken).WithTimeout();
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 6200));

        string file = Write(directory, "10.conf", string.Join('\n',
            "tcp 8080",
            "tcp 6100",
            "tcp 6200",
            "tcp 9500",
            "tcp 8080-8081",
            "tcp 80 allow-user=no-such-user-here",
            "bogus line",
            "udp 5000") + "\n");
        (int exit, string output) = await Cli(daemon, "reload");

        Assert.Equal(8, exit);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"{file}:2: tcp 6100 not applied: TCP 6100 overlaps runtime reservation TCP 6100 held by pid", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{file}:3: tcp 6200 not applied: TCP port 6200 is in use", lines[1], StringComparison.Ordinal);
        Assert.StartsWith($"{file}:4: tcp 9500 not applied:", lines[2], StringComparison.Ordinal);
        Assert.Contains("system exclusion", lines[2], StringComparison.Ordinal);
        Assert.Equal($"{file}:5: tcp 8080-8081 overlaps tcp 8080 declared at {file}:1; remove one of them", lines[3]);
        Assert.Equal($"{file}:6: allow-user=no-such-user-here: no such user on this machine", lines[4]);
        Assert.StartsWith($"{file}:7: 'bogus' is not a protocol", lines[5], StringComparison.Ordinal);
        Assert.Equal("reloaded 1 file(s): 2 added, 0 removed, 0 updated, 0 unchanged; 6 line(s) skipped", lines[6]);
        Assert.Equal([8080, 5000], (await ShowAsync(daemon)).Where(r => r.Source is not null).Select(r => r.StartPort));
        (_, string status) = await Cli(daemon, "status");
        Assert.Contains("skipped lines:   6 at the last reload", status, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task FilesAnotherUserOwnsOrMayWrite_AreNotBelieved_ThroughALinkToo()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to give a file to another uid");
        // A line grants ports and the right to bind them below 1024: a stranger's file, or one anyone may edit, grants nothing.
        string directory = NewConfigDirectory();
        string elsewhere = NewConfigDirectory();
        string strangers = Write(elsewhere, "strangers.conf", "tcp 22 allow-user=nobody\n");
        File.SetUnixFileMode(strangers, (UnixFileMode)0b110_100_100);
        FileOwner.Set(strangers, OtherUser.Stranger);
        File.CreateSymbolicLink(Path.Combine(directory, "10-linked.conf"), strangers);
        string writable = Write(directory, "20-writable.conf", "tcp 23 allow-user=nobody\n");
        File.SetUnixFileMode(writable, (UnixFileMode)0b110_110_110);
        Write(directory, "30-root.conf", "tcp 24 allow-user=nobody\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        (int exit, string output) = await Cli(daemon, "reload");

        Assert.Equal(8, exit);
        Assert.Contains($"{Path.Combine(directory, "10-linked.conf")}: is owned by uid {OtherUser.Stranger}, not root, so it is not trusted; none of its lines applied", output);
        Assert.Contains($"{writable}: may be written by users other than its owner (mode 666; make it 0644); none of its lines applied", output);
        Assert.Equal([24], (await ShowAsync(daemon)).Where(r => r.Source is not null).Select(r => r.StartPort));
    }

    [Fact(Timeout = 60_000)]
    public async Task AFileInALaterDirectory_ReplacesTheSameNamedFileOfAnEarlierOne()
    {
        string usr = NewConfigDirectory();
        string etc = NewConfigDirectory();
        Write(usr, "50-package.conf", "tcp 8080\n");
        Write(usr, "60-other.conf", "tcp 8090\n");
        string admin = Write(etc, "50-package.conf", "tcp 8081\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", usr, "--config-dir", etc);

        IReadOnlyList<PortReservationInfo> listing = await ShowAsync(daemon);

        Assert.Equal([8081, 8090], listing.Select(r => r.StartPort));
        Assert.Equal($"{admin}:1", listing[0].Source);
        Assert.False(KernelList.ContainsAny(8080, 8080), KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_OfADeclaredBlock_IsRefused_NamingTheFileAndLine()
    {
        string directory = NewConfigDirectory();
        string file = Write(directory, "10.conf", "\ntcp 8080\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        (int exit, string output) = await Cli(daemon, "delete", "--protocol", "tcp", "--start", "8080", "--count", "1");

        Assert.Equal(4, exit);
        Assert.Contains($"declared at {file}:2: remove or edit that line, then run portreserve reload", output, StringComparison.Ordinal);
        Assert.Single(await ShowAsync(daemon));
    }

    [Fact(Timeout = 60_000)]
    public async Task AfterKill9_TheKernelKeepsDeclaredBlocks_AndARestartHasThemWithoutReadingThemAnew()
    {
        string directory = NewConfigDirectory();
        string file = Write(directory, "10.conf", "tcp 8080\nudp 5000-5001\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        Assert.True(KernelList.ContainsAll(8080, 8080) && KernelList.ContainsAll(5000, 5001), KernelList.Text);

        // A service holding its declared port keeps it across the restart: the port being in use is no conflict.
        using var service = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        service.Bind(new IPEndPoint(IPAddress.Loopback, 8080));
        await daemon.RestartAsync();

        Assert.Equal([(8080, $"{file}:1"), (5000, $"{file}:2")], (await ShowAsync(daemon)).Select(r => (r.StartPort, r.Source)));
        Assert.True(KernelList.ContainsAll(8080, 8080) && KernelList.ContainsAll(5000, 5001), KernelList.Text);
        Assert.Contains("0 added, 0 removed, 0 updated, 2 unchanged", daemon.Log, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task ALineRemovedWhileTheDaemonWasDown_IsGoneAfterTheRestart()
    {
        string directory = NewConfigDirectory();
        Write(directory, "10.conf", "tcp 8080\ntcp 8081\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);
        Assert.Equal(0, await daemon.StopAsync());

        Write(directory, "10.conf", "tcp 8081\n");
        await daemon.RestartAsync();

        Assert.Equal([8081], (await ShowAsync(daemon)).Select(r => r.StartPort));
        Assert.False(KernelList.ContainsAny(8080, 8080), KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reload_ByANonAdministrator_IsRefused()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        string directory = NewConfigDirectory();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);
        Write(directory, "10.conf", "tcp 8080\n");

        (int exit, string output) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Cli, ["reload"], daemon.ClientEnvironment);

        Assert.Equal(4, exit);
        Assert.Contains("AccessDenied: uid 65534 may not reload the reservations.d files", output, StringComparison.Ordinal);
        Assert.Empty(await ShowAsync(daemon));
    }

    [Fact(Timeout = 60_000)]
    public async Task AnAllowListEdit_TakesEffectForTheUser_AndATypoKeepsTheReservationAsItWas()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        string directory = NewConfigDirectory();
        Write(directory, "10.conf", "tcp 8080-8081\n");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--config-dir", directory);
        string token = TokenOf(await ShowAsync(daemon), 8080).ToString(CultureInfo.InvariantCulture);

        (int refusedExit, string refused) = await AsNobody(daemon, "bind", token, "tcp");
        Write(directory, "10.conf", "tcp 8080-8081 allow-user=nobody\n");
        Assert.Equal(0, (await Cli(daemon, "reload")).ExitCode);
        (int allowedExit, string allowed) = await AsNobody(daemon, "bind", token, "tcp");
        Write(directory, "10.conf", "tcp 8080-8081 allow-user=nobdoy\n");
        (int typoExit, _) = await Cli(daemon, "reload");
        (int stillExit, string still) = await AsNobody(daemon, "bind", token, "tcp");

        Assert.StartsWith("error AccessDenied", refused, StringComparison.Ordinal);
        Assert.Equal(1, refusedExit);
        Assert.True(allowedExit == 0, allowed);
        Assert.Equal(8, typoExit);
        Assert.True(stillExit == 0, still);
        Assert.Equal(["nobody(65534)"], Assert.Single(await ShowAsync(daemon)).AllowedUsers);
    }

    private static Task<(int ExitCode, string Output)> AsNobody(DaemonProcess daemon, params string[] arguments)
        => OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Peer, arguments, daemon.ClientEnvironment);

    private static async Task<IReadOnlyList<PortReservationInfo>> ShowAsync(DaemonProcess daemon)
    {
        await using PortReservationClient client = await daemon.ConnectAsync();
        return [.. (await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout()).Where(r => r.Kind != PortReservationKind.System)];
    }

    private static ulong TokenOf(IReadOnlyList<PortReservationInfo> listing, int start) => listing.Single(r => r.StartPort == start).Token!.Value;

    private static Task<(int ExitCode, string Output)> Cli(DaemonProcess daemon, params string[] arguments)
        => ChildProcess.RunAsync(Artifacts.Cli, arguments, daemon.ClientEnvironment);

    /// <summary>A directory of its own for the test's files, world-readable like /etc.</summary>
    private string NewConfigDirectory()
    {
        DirectoryInfo directory = Directory.CreateTempSubdirectory("prt-conf-");
        directory.UnixFileMode = (UnixFileMode)0b111_101_101;
        _directories.Add(directory.FullName);
        return directory.FullName;
    }

    private static string Write(string directory, string name, string text)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
