using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Connection floods and per-uid quotas meet their limits with NoBufferSpaceAvailable, and the daemon serves on.</summary>
public sealed class LimitsTests
{
    [Fact(Timeout = 60_000)]
    public async Task ConnectionFlood_MeetsTheLimit_WithAClearErrorAndTheDaemonServesOn()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--max-connections", "8");
        var clients = new List<PortReservationClient> { await FirstConnectionAloneAsync(daemon) };
        try
        {
            for (int i = 1; i < 8; i++)
            {
                PortReservationClient client = await daemon.ConnectAsync();
                await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
                clients.Add(client);
            }

            await using PortReservationClient extra = await daemon.ConnectAsync();
            PortReservationException refused = await Assert.ThrowsAsync<PortReservationException>(() => extra.GetStatusAsync(TestContext.Current.CancellationToken).AsTask().WithTimeout());
            Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, refused.Kind);
            Assert.Contains("--max-connections", refused.Message);

            await using PortReservation held = await clients[0].AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
            await clients[^1].DisposeAsync();
            clients.RemoveAt(clients.Count - 1);
            await AcceptedAgainAsync(daemon);
        }
        finally
        {
            foreach (PortReservationClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task PortQuota_StopsAnUnprivilegedUser_ButNotRoot()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--max-runtime-ports-per-uid", "10");

        (int exit, string output) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Peer, ["hold", "udp", "0", "11"], daemon.ClientEnvironment);
        await using PortReservationClient root = await daemon.ConnectAsync();
        await using PortReservation big = await root.AcquireAsync(PortReservationProtocol.Udp, 0, 100, TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(1, exit);
        Assert.StartsWith("error NoBufferSpaceAvailable", output, StringComparison.Ordinal);
        Assert.Contains("quota of 10", output);
    }

    /// <summary>The daemon's first connection (its readiness is a notification, not a connection): it counts it as its only one.</summary>
    private static async Task<PortReservationClient> FirstConnectionAloneAsync(DaemonProcess daemon)
    {
        PortReservationClient client = await daemon.ConnectAsync();
        Assert.Equal(1, (await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout()).Connections);
        return client;
    }

    /// <summary>Once a connection closes, a new one is served again (the daemon notices the close asynchronously).</summary>
    private static async Task AcceptedAgainAsync(DaemonProcess daemon)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await using PortReservationClient client = await daemon.ConnectAsync();
                await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
                return;
            }
            catch (PortReservationException) when (attempt < 100)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
        }
    }
}
