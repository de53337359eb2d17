using System.Net.Sockets;
using System.Text;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Running as a systemd service: readiness and stop notifications, and what SIGTERM keeps.</summary>
public sealed class ServiceTests
{
    [Fact(Timeout = 60_000)]
    public async Task NotifySocket_GetsReadyAndStopping_AndSigTermKeepsPersistentButDropsRuntime()
    {
        string directory = Directory.CreateTempSubdirectory("prt-notify-").FullName;
        string notifyPath = Path.Combine(directory, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        try
        {
            await using DaemonProcess daemon = await DaemonProcess.StartAsync(new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notifyPath }, "");
            Assert.Contains("READY=1", await ReceiveAsync(notify));

            await using (PortReservationClient client = await daemon.ConnectAsync())
            {
                await client.CreatePersistentAsync(PortReservationProtocol.Tcp, 12000, 2, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
                await client.AcquireAsync(PortReservationProtocol.Udp, 13000, 2, TestContext.Current.CancellationToken).WithTimeout();
                Assert.Equal("12000-12001,13000-13001", KernelList.Text);

                Assert.Equal(0, await daemon.StopAsync());
            }

            Assert.Contains("STOPPING=1", await ReceiveAsync(notify));
            Assert.Equal("12000-12001", KernelList.Text);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string> ReceiveAsync(Socket notify)
    {
        byte[] buffer = new byte[4096];
        int received = await notify.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
        return Encoding.UTF8.GetString(buffer, 0, received);
    }
}
