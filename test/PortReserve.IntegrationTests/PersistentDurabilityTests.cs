using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>kill -9 of the daemon in the middle of a stream of creates, many times over.</summary>
public sealed class PersistentDurabilityTests
{
    private const int Rounds = 12;
    private static readonly string[] s_consumers = ["nobody", "daemon"];

    [Fact(Timeout = 240_000)]
    public async Task Kill9DuringCreates_EveryAcknowledgedCreateSurvives_AndNothingHalfExists()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("100");
        var attempted = new HashSet<int>();
        var acknowledged = new HashSet<int>();
        var random = new Random(20261121);
        int nextStart = 2000;

        for (int round = 0; round < Rounds; round++)
        {
            await using (PortReservationClient client = await daemon.ConnectAsync())
            {
                Task stream = CreateUntilAbortedAsync(client, () => nextStart += 3, attempted, acknowledged);
                await Task.Delay(random.Next(10, 120), TestContext.Current.CancellationToken);
                daemon.Kill9();
                await stream.WithTimeout();
                await daemon.WaitForExitAsync();
            }

            await daemon.RestartAsync();
            await VerifyAsync(daemon, attempted, acknowledged, round);
        }

        Assert.True(acknowledged.Count > Rounds, $"only {acknowledged.Count} creates were acknowledged in {Rounds} rounds");
    }

    private static async Task CreateUntilAbortedAsync(PortReservationClient client, Func<int> nextStart, HashSet<int> attempted, HashSet<int> acknowledged)
    {
        var options = new PersistentReservationOptions();
        foreach (string user in s_consumers)
        {
            options.AllowedUsers.Add(user);
        }

        while (true)
        {
            int start = nextStart();
            attempted.Add(start);
            try
            {
                await client.CreatePersistentAsync(PortReservationProtocol.Tcp, start, 2, options, TestContext.Current.CancellationToken);
                acknowledged.Add(start);
            }
            catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.Aborted)
            {
                return;
            }
        }
    }

    private static async Task VerifyAsync(DaemonProcess daemon, HashSet<int> attempted, HashSet<int> acknowledged, int round)
    {
        await using PortReservationClient client = await daemon.ConnectAsync();
        List<PortReservationInfo> present = [.. (await client.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout())
            .Where(r => r.Kind == PortReservationKind.Persistent)];
        var presentStarts = present.Select(r => r.StartPort).ToHashSet();

        Assert.True(acknowledged.IsSubsetOf(presentStarts), $"round {round}: acknowledged creates lost: {string.Join(',', acknowledged.Except(presentStarts))}");
        Assert.True(presentStarts.IsSubsetOf(attempted), $"round {round}: reservations nobody asked for: {string.Join(',', presentStarts.Except(attempted))}");
        Assert.All(present, r =>
        {
            Assert.Equal(2, r.Count);
            Assert.Equal(["daemon(1)", "nobody(65534)"], r.AllowedUsers);
        });

        var expectedKernel = present.SelectMany(r => Enumerable.Range(r.StartPort, r.Count)).Append(100).ToHashSet();
        Assert.True(expectedKernel.SetEquals(KernelList.Ports()), $"round {round}: kernel list {KernelList.Text} differs from the persistent reservations");
    }
}
