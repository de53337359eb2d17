using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
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

    private static WebApplication BuildApp(DaemonProcess daemon, Action<ReservedListenOptions>? configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddPortReservationClient(o => o.SocketPath = daemon.SocketPath);
        builder.WebHost.ListenReserved(configure);
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
