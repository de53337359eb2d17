using System.Net;
using System.Net.Sockets;
using System.Text;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>The Prometheus endpoint, scraped over HTTP, shows the counts the test caused.</summary>
public sealed class MetricsTests
{
    [Fact(Timeout = 60_000)]
    public async Task Scrape_UnixSocket_ShowsTheReservationsAcquiresReleasesAndRefusalsCaused()
    {
        string metricsPath = Path.Combine(Path.GetTempPath(), $"prt-metrics-{Guid.NewGuid():N}.sock");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--metrics-listen", metricsPath);
        await using PortReservationClient client = await daemon.ConnectAsync();
        PortReservation first = await client.AcquireAsync(PortReservationProtocol.Tcp, 5000, 1, TestContext.Current.CancellationToken).WithTimeout();
        await client.AcquireAsync(PortReservationProtocol.Tcp, 5001, 1, TestContext.Current.CancellationToken).WithTimeout();
        await client.AcquireAsync(PortReservationProtocol.Udp, 5000, 1, TestContext.Current.CancellationToken).WithTimeout();
        await first.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
        await Assert.ThrowsAsync<PortReservationException>(() => client.AcquireAsync(PortReservationProtocol.Tcp, 5001, 1, TestContext.Current.CancellationToken).WithTimeout());

        string response = await ScrapeAsync(new UnixDomainSocketEndPoint(metricsPath), AddressFamily.Unix);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; version=0.0.4", response);
        Assert.Contains("\nportreserve_reservations{kind=\"runtime\",protocol=\"tcp\"} 1\n", response);
        Assert.Contains("\nportreserve_reservations{kind=\"runtime\",protocol=\"udp\"} 1\n", response);
        Assert.Contains("\nportreserve_reservations_acquired_total 3\n", response);
        Assert.Contains("\nportreserve_reservations_released_total 1\n", response);
        Assert.Contains("\nportreserve_refusals_total{kind=\"AddressAlreadyInUse\"} 1\n", response);
        Assert.Matches(@"\nportreserve_kernel_write_seconds_count [1-9]\d*\n", response);
        Assert.Contains("\nportreserve_connections 1\n", response);
    }

    [Fact(Timeout = 60_000)]
    public async Task Scrape_LoopbackTcp_Works_AndNonLoopbackIsRefusedAtStart()
    {
        int port = FreeLoopbackPort();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--metrics-listen", $"127.0.0.1:{port}");

        string response = await ScrapeAsync(new IPEndPoint(IPAddress.Loopback, port), AddressFamily.InterNetwork);
        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", Path.Combine(daemon.Directory, "other"), "--state-dir", Path.Combine(daemon.Directory, "other-state"), "--config-dir", daemon.ConfigDirectory, "--metrics-listen", "0.0.0.0:9405", "--exclusive-binds", "off"]);

        Assert.Contains("portreserve_reservations_acquired_total 0", response);
        Assert.Equal(1, exit);
        Assert.Contains("not a loopback address", output);
    }

    private static async Task<string> ScrapeAsync(EndPoint endPoint, AddressFamily family)
    {
        using var socket = new Socket(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, TestContext.Current.CancellationToken).AsTask().WithTimeout();
        await socket.SendAsync("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
        var response = new StringBuilder();
        byte[] buffer = new byte[8192];
        int received;
        while ((received = await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout()) > 0)
        {
            response.Append(Encoding.UTF8.GetString(buffer, 0, received));
        }

        return response.ToString();
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
