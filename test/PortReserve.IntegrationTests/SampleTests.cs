using System.Text.RegularExpressions;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

public sealed partial class SampleTests
{
    [Theory(Timeout = 60_000)]
    [InlineData("2", "2", "17", "5000", "20", 5000, 5019)]
    [InlineData("10", "1", "6", "0", "3", 45000, 45099)]
    public async Task AcquirePortReservationSample_PrintsTheAllocatedPortFromTheBlock(string family, string type, string protocol, string start, string count, int low, int high)
    {
        KernelAbility.SkipUnlessBindHooks();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "45000-45099");

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Sample, [family, type, protocol, start, count], daemon.ClientEnvironment);

        Assert.True(exit == 0, output);
        Match allocated = AllocatedPort().Match(output);
        Assert.True(allocated.Success, output);
        Assert.InRange(int.Parse(allocated.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), low, high);
        Assert.Contains("ReleaseAsync (SIO_RELEASE_PORT_RESERVATION) succeeded", output);
        Assert.Matches(@"another program's unassociated socket could not bind port \d+: failed with error = 10013 \(AccessDenied\)", output);
        Assert.Equal(string.Empty, KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task WebOnReservedPortSample_ServesOnAWildcardReservedPort_AndGivesItBackWhenStopped()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "45000-45099");
        await using ChildProcess web = ChildProcess.Start(Artifacts.WebSample, [], daemon.ClientEnvironment);

        string listening = await web.WaitForLineAsync(line => line.Contains("Now listening on: ", StringComparison.Ordinal));
        var url = new Uri(listening[(listening.IndexOf("http", StringComparison.Ordinal))..].Trim());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string body = await http.GetStringAsync(url, TestContext.Current.CancellationToken).WithTimeout();
        string health = await http.GetStringAsync(new Uri(url, "/healthz"), TestContext.Current.CancellationToken).WithTimeout();
        await using PortReservationClient client = await daemon.ConnectAsync();
        IReadOnlyList<PortReservationInfo> listing = await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        web.Signal(Signals.SigTerm);
        int exit = await web.WaitForExitAsync();

        Assert.InRange(url.Port, 45000, 45099);
        Assert.Equal($"Hello from port {url.Port}, reserved for this app.\n", body);
        Assert.Equal("Healthy", health);
        Assert.Contains(listing, r => r.Kind == PortReservationKind.Runtime && r.StartPort == url.Port && r.OwnerPid == web.Pid);
        Assert.Equal(0, exit);
        await Timeouts.Eventually(() => KernelList.Text.Length == 0, "the sample's port to leave the kernel list");
    }

    [Fact(Timeout = 60_000)]
    public async Task WebOnReservedPortSample_WhoseReservationIsLost_ExitsWith75_ForItsSupervisorToStartItAgain()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "45100-45199");
        Dictionary<string, string?> environment = daemon.ClientEnvironment;
        environment["PortReserve__ReconnectTimeout"] = "00:00:01";
        await using ChildProcess web = ChildProcess.Start(Artifacts.WebSample, [], environment);
        await web.WaitForLineAsync(line => line.Contains("Now listening on: ", StringComparison.Ordinal));

        daemon.Kill9();
        int exit = await web.WaitForExitAsync();

        Assert.True(exit == 75, web.Output);
        Assert.Contains("stopping the host with exit code 75", web.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task WebOnReservedPortSample_RunsAsAnAllowedUser_OnAPersistentReservationChosenByConfiguration()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run the app as another uid");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        (int addExit, string added) = await ChildProcess.RunAsync(Artifacts.Cli, ["add", "--protocol", "tcp", "--start", "47400", "--count", "2", "--allow-user", "nobody"], daemon.ClientEnvironment);
        Assert.True(addExit == 0, added);

        // The content root defaults to the working directory, which nobody may not enter here; a service gets its own.
        DirectoryInfo contentRoot = Directory.CreateTempSubdirectory("prt-web-");
        contentRoot.UnixFileMode = (UnixFileMode)0b111_101_101;
        var environment = new Dictionary<string, string?>(daemon.ClientEnvironment)
        {
            ["PortReserve__Listen__StartPort"] = "47400",
            ["PortReserve__Listen__Count"] = "2",
            ["PortReserve__Listen__Persistent"] = "true",
            ["ASPNETCORE_CONTENTROOT"] = contentRoot.FullName,
            ["HOME"] = "/nonexistent",
        };
        using var removeContentRoot = new DirectoryRemoval(contentRoot);
        await using ChildProcess web = OtherUser.Start(OtherUser.Nobody, OtherUser.Nobody, Artifacts.WebSample, [], environment);

        string listening = await web.WaitForLineAsync(line => line.Contains("Now listening on: ", StringComparison.Ordinal));
        var url = new Uri(listening[listening.IndexOf("http", StringComparison.Ordinal)..].Trim());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string body = await http.GetStringAsync(url, TestContext.Current.CancellationToken).WithTimeout();
        web.Signal(Signals.SigTerm);
        int exit = await web.WaitForExitAsync();

        Assert.InRange(url.Port, 47400, 47401);
        Assert.Equal($"Hello from port {url.Port}, reserved for this app.\n", body);
        Assert.Equal(0, exit);
        Assert.True(KernelList.ContainsAll(47400, 47401), KernelList.Text);
    }

    [GeneratedRegex(@"Port number allocated = (\d+)")]
    private static partial Regex AllocatedPort();

    private sealed class DirectoryRemoval(DirectoryInfo directory) : IDisposable
    {
        public void Dispose() => directory.Delete(recursive: true);
    }
}
