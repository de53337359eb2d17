using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Running as a systemd service: readiness and stop notifications, and what SIGTERM keeps.</summary>
public sealed class ServiceTests
{
    [Fact(Timeout = 60_000)]
    public async Task NotifySocket_GetsReadyThenStopping_AndSigTermWithoutExclusiveBindsKeepsPersistentButDropsRuntime()
    {
        // Every DaemonProcess start already waited for READY=1 on its notify socket. Without the bind hooks no next
        // daemon could restore runtime reservations, so a stop drops them (with the hooks it keeps them: RestartRestoreTests).
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            await client.CreatePersistentAsync(PortReservationProtocol.Tcp, 12000, 2, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
            await client.AcquireAsync(PortReservationProtocol.Udp, 13000, 2, TestContext.Current.CancellationToken).WithTimeout();
            Assert.Equal("12000-12001,13000-13001", KernelList.Text);

            Assert.Equal(0, await daemon.StopAsync());
        }

        Assert.Contains("STOPPING=1", await daemon.NextNotificationAsync());
        Assert.Equal("12000-12001", KernelList.Text);
    }
}
