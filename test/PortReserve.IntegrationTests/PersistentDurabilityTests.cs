using System.Collections.Concurrent;
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
        var attempted = new ConcurrentDictionary<int, bool>();
        var acknowledged = new ConcurrentDictionary<int, bool>();
        var random = new Random(20261121);
        int nextStart = 2000;

        for (int round = 0; round < Rounds; round++)
        {
            await using (PortReservationClient client = await daemon.ConnectAsync())
            {
                int before = acknowledged.Count;
                Task stream = CreateUntilAbortedAsync(client, () => nextStart += 3, attempted, acknowledged);

                // Let the stream get going, then kill at a random moment inside it.
                await Timeouts.Eventually(() => acknowledged.Count >= before + 2, "creates are being acknowledged");
                await Task.Delay(random.Next(0, 40), TestContext.Current.CancellationToken);
                daemon.Kill9();
                await stream.WithTimeout();
                await daemon.WaitForExitAsync();
            }

            await daemon.RestartAsync();
            await VerifyAsync(daemon, attempted, acknowledged, round);
        }

    }

    private static async Task CreateUntilAbortedAsync(PortReservationClient client, Func<int> nextStart, ConcurrentDictionary<int, bool> attempted, ConcurrentDictionary<int, bool> acknowledged)
    {
        var options = new PersistentReservationOptions();
        foreach (string user in s_consumers)
        {
            options.AllowedUsers.Add(user);
        }

        while (true)
        {
            int start = nextStart();
            attempted[start] = true;
            try
            {
                await client.CreatePersistentAsync(PortReservationProtocol.Tcp, start, 2, options, TestContext.Current.CancellationToken);
                acknowledged[start] = true;
            }
            catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.Aborted)
            {
                return;
            }
        }
    }

    private static async Task VerifyAsync(DaemonProcess daemon, ConcurrentDictionary<int, bool> attempted, ConcurrentDictionary<int, bool> acknowledged, int round)
    {
        await using PortReservationClient client = await daemon.ConnectAsync();
        List<PortReservationInfo> present = [.. (await client.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout())
            .Where(r => r.Kind == PortReservationKind.Persistent)];
        var presentStarts = present.Select(r => r.StartPort).ToHashSet();

        Assert.True(presentStarts.IsSupersetOf(acknowledged.Keys), $"round {round}: acknowledged creates lost: {string.Join(',', acknowledged.Keys.Except(presentStarts))}");
        Assert.True(presentStarts.IsSubsetOf(attempted.Keys), $"round {round}: reservations nobody asked for: {string.Join(',', presentStarts.Except(attempted.Keys))}");
        Assert.All(present, r =>
        {
            Assert.Equal(2, r.Count);
            Assert.Equal(["daemon(1)", "nobody(65534)"], r.AllowedUsers);
        });

        var expectedKernel = present.SelectMany(r => Enumerable.Range(r.StartPort, r.Count)).Append(100).ToHashSet();
        HashSet<int> kernel = KernelList.Ports();
        Assert.True(expectedKernel.SetEquals(kernel), $"round {round}: the kernel list lacks [{string.Join(',', expectedKernel.Except(kernel))}] and has extra [{string.Join(',', kernel.Except(expectedKernel))}] against the persistent reservations");
    }
}
