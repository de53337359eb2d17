using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PortReserve.AspNetCore;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Real Kestrel apps (in-process WebApplication) on reserved ports, against the real daemon.</summary>
public sealed class AspNetCoreTests
{
    [Fact(Timeout = 60_000)]
    public async Task Kestrel_ServesOnAPortOfTheBlock_TheAppsProcessOwnsIt_AndStoppingReleasesIt()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using WebApplication app = BuildApp(daemon, o => { o.StartPort = 47100; o.Count = 4; });

        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        string url = Assert.Single(app.Urls);
        int port = new Uri(url).Port;
        string body = await GetAsync(url);
        IReadOnlyList<PortReservationInfo> whileRunning = await ShowAsync(daemon);
        bool kernelWhileRunning = KernelList.ContainsAll(47100, 47103);
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.InRange(port, 47100, 47103);
        Assert.Equal($"port {port}", body);
        PortReservationInfo held = Assert.Single(whileRunning, r => r.StartPort == 47100);
        Assert.Equal((PortReservationKind.Runtime, 4, Environment.ProcessId), (held.Kind, held.Count, held.OwnerPid));
        Assert.True(kernelWhileRunning);
        await Timeouts.Eventually(() => !KernelList.ContainsAny(47100, 47103), "the stopped app's ports to leave the kernel list");
        Assert.DoesNotContain(await ShowAsync(daemon), r => r.StartPort == 47100);
    }

    [Fact(Timeout = 60_000)]
    public async Task AWildcardReservation_GivesAFreePort_ShownWhereAspNetUsersLook()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using WebApplication app = BuildApp(daemon, configure: null);

        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        int port = new Uri(Assert.Single(app.Urls)).Port;

        Assert.Equal($"port {port}", await GetAsync(Assert.Single(app.Urls)));
        Assert.Contains(await ShowAsync(daemon), r => r.Kind == PortReservationKind.Runtime && r.StartPort == port && r.OwnerPid == Environment.ProcessId);
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();
    }

    [Fact(Timeout = 60_000)]
    public async Task APersistentReservation_IsLookedUp_AndKeptWhenTheHostStops()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using (PortReservationClient admin = await daemon.ConnectAsync())
        {
            await admin.CreatePersistentAsync(PortReservationProtocol.Tcp, 47200, 2, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        }

        await using WebApplication app = BuildApp(daemon, o => { o.StartPort = 47200; o.Count = 2; o.Persistent = true; });
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        int port = new Uri(Assert.Single(app.Urls)).Port;
        string body = await GetAsync(Assert.Single(app.Urls));
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.InRange(port, 47200, 47201);
        Assert.Equal($"port {port}", body);
        Assert.Contains(await ShowAsync(daemon), r => r is { Kind: PortReservationKind.Persistent, StartPort: 47200, Count: 2 });
        Assert.True(KernelList.ContainsAll(47200, 47201), KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task TheListenOptionsCallback_ConfiguresTheEndpoint_HereForHttp2WithoutTls()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddPortReservationClient(o =>
        {
            o.SocketPath = daemon.SocketPath;

            // A daemon killed here does not come back: the reservation is lost a second later.
            o.ReconnectTimeout = TimeSpan.FromSeconds(1);
        });
        builder.WebHost.ListenReserved(listen: endpoint => endpoint.Protocols = HttpProtocols.Http2);
        await using WebApplication app = Finish(builder);
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10), DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage response = await http.GetAsync(new Uri(Assert.Single(app.Urls)), TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(System.Net.HttpVersion.Version20, response.Version);
        Assert.StartsWith("port ", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();
    }

    [Fact(Timeout = 60_000)]
    public async Task WithoutADaemon_TheHostFailsToStart_SayingWhereItLooked()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddPortReservationClient(o => o.SocketPath = "/nonexistent/portreserved.sock");
        builder.WebHost.ListenReserved();
        await using WebApplication app = builder.Build();

        PortReservationException failure = await Assert.ThrowsAsync<PortReservationException>(() => app.StartAsync(TestContext.Current.CancellationToken).WithTimeout());

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, failure.Kind);
        Assert.Contains("/nonexistent/portreserved.sock", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task ConfigurationAlone_ChoosesTheDaemonAndTheBlock()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PortReserve:SocketPath"] = daemon.SocketPath,
            ["PortReserve:Listen:StartPort"] = "47300",
            ["PortReserve:Listen:Count"] = "3",
            ["PortReserve:Listen:Port"] = "47302",
            ["PortReserve:Listen:Address"] = "127.0.0.1",
        });
        builder.WebHost.ListenReserved();
        await using WebApplication app = Finish(builder);

        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal("http://127.0.0.1:47302", Assert.Single(app.Urls));
        Assert.Equal("port 47302", await GetAsync(Assert.Single(app.Urls)));
        Assert.Contains(await ShowAsync(daemon), r => r is { Kind: PortReservationKind.Runtime, StartPort: 47300, Count: 3 });
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();
    }

    [Fact(Timeout = 60_000)]
    public void AnInvalidConfigurationValue_FailsWhenKestrelIsConfigured_NamingTheKey()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["PortReserve:Listen:StartPort"] = "eighty" });
        builder.WebHost.ListenReserved();

        InvalidOperationException failure = Assert.Throws<InvalidOperationException>(() => builder.Build().Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value);

        Assert.Contains("PortReserve:Listen:StartPort is 'eighty', which is not a whole number from 0 to 65535", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task LosingTheDaemon_StopsTheHost_AndTheHealthCheckSaysWhy()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using WebApplication app = BuildApp(daemon, configure: null);
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        HealthReport before = await CheckHealthAsync(app);

        daemon.Kill9();
        await app.WaitForShutdownAsync(TestContext.Current.CancellationToken).WithTimeout();
        int exitCode = TakeExitCode();

        Assert.Equal(HealthStatus.Healthy, before.Status);
        Assert.Contains("reservations held for 127.0.0.1:", before.Entries["portreserve"].Description, StringComparison.Ordinal);
        Assert.Equal(ReservedListenOptions.LostExitCode, exitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task ADaemonThatCameBackWithoutTheReservation_StopsTheHost()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root for the bind hooks, whose lease decides what a restart restores");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on", "--restart-grace", "1");
        await using WebApplication app = BuildApp(daemon, configure: null, reconnectTimeout: TimeSpan.FromSeconds(60));
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();

        // Away for longer than the lease: anyone may have bound the port since, so the next daemon restores nothing.
        daemon.Kill9();
        await daemon.WaitForExitAsync();
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        await daemon.RestartAsync();
        await app.WaitForShutdownAsync(TestContext.Current.CancellationToken).WithTimeout();
        int exitCode = TakeExitCode();

        Assert.Equal(ReservedListenOptions.LostExitCode, exitCode);
        Assert.Contains("are not restored: the lease", daemon.Log, StringComparison.Ordinal);
    }

    /// <summary>The exit code a stopped host set for this process (the test runner's), put back to 0.</summary>
    private static int TakeExitCode()
    {
        int exitCode = Environment.ExitCode;
        Environment.ExitCode = 0;
        return exitCode;
    }

    [Fact(Timeout = 60_000)]
    public async Task LosingTheDaemon_WhenConfiguredToKeepRunning_KeepsServing_AndTheHealthCheckFlips()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using WebApplication app = BuildApp(daemon, o => o.StopHostWhenLost = false);
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal(HealthStatus.Healthy, (await CheckHealthAsync(app)).Status);

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        HealthReport after = await Timeouts.Eventually(() => CheckHealthAsync(app), h => h.Status != HealthStatus.Healthy, TimeSpan.FromSeconds(10));

        Assert.Equal(HealthStatus.Unhealthy, after.Status);
        Assert.Contains("reservation lost for 127.0.0.1:", after.Entries["portreserve"].Description, StringComparison.Ordinal);
        Assert.StartsWith("port ", await GetAsync(Assert.Single(app.Urls)), StringComparison.Ordinal);
        Assert.False(app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();
    }

    [Fact(Timeout = 120_000)]
    public async Task ADaemonKilledAndRestarted_LeavesTheHostServing_OnTheReservationItHeld()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root for the bind hooks, whose pins carry the reservation across the restart");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using WebApplication app = BuildApp(daemon, configure: null, reconnectTimeout: TimeSpan.FromSeconds(60));
        await app.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        string url = Assert.Single(app.Urls);
        int port = new Uri(url).Port;
        IHostApplicationLifetime lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        string servedWhileDown = await GetAsync(url);
        await daemon.RestartAsync();
        await Timeouts.Eventually(async () => (await CheckHealthAsync(app)).Status == HealthStatus.Healthy && (await ShowAsync(daemon)).Any(r => r.StartPort == port && r.OwnerPid == Environment.ProcessId), "the host's reservation listed as its own again");
        string servedAfter = await GetAsync(url);
        bool stopping = lifetime.ApplicationStopping.IsCancellationRequested;
        await app.StopAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal($"port {port}", servedWhileDown);
        Assert.Equal($"port {port}", servedAfter);
        Assert.False(stopping, "the host stopped although its reservation came back");
        await Timeouts.Eventually(async () => !(await ShowAsync(daemon)).Any(r => r.StartPort == port), "the stopped host's reservation to be released");
    }

    private static Task<HealthReport> CheckHealthAsync(WebApplication app)
        => app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken).WithTimeout();

    /// <param name="reconnectTimeout">How long the client waits for a daemon to come back: by default a second, as a daemon killed here does not.</param>
    private static WebApplication BuildApp(DaemonProcess daemon, Action<ReservedListenOptions>? configure, TimeSpan? reconnectTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddPortReservationClient(o =>
        {
            o.SocketPath = daemon.SocketPath;
            o.ReconnectTimeout = reconnectTimeout ?? TimeSpan.FromSeconds(1);
        });
        builder.WebHost.ListenReserved(configure);
        return Finish(builder);
    }

    private static WebApplication Finish(WebApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddPortReservation();
        WebApplication app = builder.Build();
        app.MapGet("/", (HttpContext context) => $"port {context.Connection.LocalPort.ToString(CultureInfo.InvariantCulture)}");
        return app;
    }

    private static async Task<string> GetAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri(url), TestContext.Current.CancellationToken).WithTimeout();
    }

    private static async Task<IReadOnlyList<PortReservationInfo>> ShowAsync(DaemonProcess daemon)
    {
        await using PortReservationClient client = await daemon.ConnectAsync();
        return await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
    }
}
