using System.Diagnostics;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Cancelling calls that are already on their way to the daemon.</summary>
public sealed class CancellationTests
{
    private const int Acquires = 4_000;
    private const int ConcurrentCallers = 2;

    [Fact(Timeout = 120_000)]
    public async Task AcquireAsync_CancelledInFlight_LeavesNoReservationTheClientCannotSee()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        var granted = new List<PortReservation>();
        int cancelled = 0;
        int roundTripMicroseconds = await MedianAcquireMicrosecondsAsync(client);

        // Callers on the one connection, each cancelling its acquire about when the reply is due (0.5-1.5 round trips
        // after the request went out), where a cancellation and a grant cross.
        await Task.WhenAll(Enumerable.Range(0, ConcurrentCallers).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            for (int i = 0; i < Acquires / ConcurrentCallers; i++)
            {
                using var cancellation = new CancellationTokenSource();
                ValueTask<PortReservation> acquire = client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, cancellation.Token);
                SpinFor(TimeSpan.FromMicroseconds(random.Next(roundTripMicroseconds / 2, (roundTripMicroseconds * 3 / 2) + 1)));
                await cancellation.CancelAsync();
                try
                {
                    PortReservation reservation = await acquire;
                    lock (granted)
                    {
                        granted.Add(reservation);
                    }
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                }
            }
        }, TestContext.Current.CancellationToken))).WithTimeout(TimeSpan.FromSeconds(90));

        // A late grant is given back by the client on its own, soon; a leaked one stays for as long as the connection.
        await using PortReservationClient observer = await daemon.ConnectAsync();
        HashSet<ulong> visible = granted.Select(r => r.Token).ToHashSet();
        List<PortReservationInfo> unknown = await Timeouts.Eventually(() => RuntimeReservationsExceptAsync(observer, visible), u => u.Count == 0, TimeSpan.FromSeconds(5));

        Assert.True(cancelled > Acquires / 10, $"only {cancelled} of {Acquires} acquires were cancelled in flight; the test did not exercise cancellation");
        Assert.True(unknown.Count == 0, $"{unknown.Count} runtime reservation(s) held for the client that it never received: {string.Join(", ", unknown.Select(r => $"{r.StartPort} (pid {r.OwnerPid})"))}");
        Assert.Equal(granted.Count, (await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout()).RuntimeReservations);
    }

    private static async Task<int> MedianAcquireMicrosecondsAsync(PortReservationClient client)
    {
        var samples = new List<double>();
        for (int i = 0; i < 51; i++)
        {
            long started = Stopwatch.GetTimestamp();
            PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            await reservation.DisposeAsync().WithTimeout();
        }

        samples.Sort();
        return (int)samples[samples.Count / 2];
    }

    private static async Task<List<PortReservationInfo>> RuntimeReservationsExceptAsync(PortReservationClient observer, HashSet<ulong> known)
        => [.. (await observer.ShowAsync(PortReservationProtocol.Tcp, TestContext.Current.CancellationToken).WithTimeout())
            .Where(r => r.Kind == PortReservationKind.Runtime && !known.Contains(r.Token ?? 0))];

    private static void SpinFor(TimeSpan duration)
    {
        long until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(10);
        }
    }
}
