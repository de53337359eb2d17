using System.Diagnostics;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Persistent creates and deletes of the same blocks from several connections at once.</summary>
public sealed class PersistentRaceTests
{
    private static readonly TimeSpan s_raceDuration = TimeSpan.FromSeconds(3);

    [Fact(Timeout = 120_000)]
    public async Task CreateAndDelete_RacingOnOneBlock_AcknowledgeOnlyWhatHappened()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient first = await daemon.ConnectAsync();
        await using PortReservationClient second = await daemon.ConnectAsync();
        var ledger = new BlockLedger();

        long until = Stopwatch.GetTimestamp() + (long)(s_raceDuration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(
            ChurnAsync(first, [30000], ledger, seed: 1, () => Stopwatch.GetTimestamp() < until),
            ChurnAsync(second, [30000], ledger, seed: 2, () => Stopwatch.GetTimestamp() < until)).WithTimeout(TimeSpan.FromSeconds(60));

        bool present = await IsPresentAsync(first, 30000);
        (int creates, int deletes) = ledger.Acknowledged(30000);
        Assert.True(creates > 10 && deletes > 10, $"{creates} creates and {deletes} deletes acknowledged; the race did not run");
        Assert.True(creates - deletes is 0 or 1, $"{creates} creates and {deletes} deletes acknowledged for one block: a create or delete was acknowledged that did not happen");
        Assert.Equal(creates - deletes == 1, present);
        Assert.Equal(present, KernelList.ContainsAll(30000, 30001));
    }

    [Fact(Timeout = 240_000)]
    public async Task CreateAndDelete_RacingWhenTheDaemonIsKilled_RestoreExactlyWhatWasAcknowledged()
    {
        int[] blocks = [.. Enumerable.Range(0, 8).Select(i => 31000 + (10 * i))];
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("100");
        var ledger = new BlockLedger();
        var random = new Random(20261122);

        for (int round = 0; round < 6; round++)
        {
            var clients = new List<PortReservationClient>();
            for (int i = 0; i < 4; i++)
            {
                clients.Add(await daemon.ConnectAsync());
            }

            long before = ledger.Total;
            Task churn = Task.WhenAll(clients.Select((c, i) => ChurnAsync(c, blocks, ledger, seed: (round * 10) + i, () => true)));
            await Timeouts.Eventually(() => ledger.Total >= before + 20, "creates and deletes are being acknowledged");
            await Task.Delay(random.Next(0, 30), TestContext.Current.CancellationToken);
            daemon.Kill9();
            await churn.WithTimeout();
            await daemon.WaitForExitAsync();
            foreach (PortReservationClient client in clients)
            {
                await client.DisposeAsync();
            }

            await daemon.RestartAsync();
            await using PortReservationClient check = await daemon.ConnectAsync();
            foreach (int start in blocks)
            {
                bool present = await IsPresentAsync(check, start);
                (int creates, int deletes) = ledger.Acknowledged(start);
                (int inFlightCreates, int inFlightDeletes) = ledger.InFlight(start);
                int net = creates - deletes;
                Assert.True(net - inFlightDeletes <= (present ? 1 : 0) && (present ? 1 : 0) <= net + inFlightCreates,
                    $"round {round}, block {start}: restored {(present ? "present" : "absent")} after {creates} acknowledged creates and {deletes} deletes, with {inFlightCreates} create(s) and {inFlightDeletes} delete(s) unanswered at the kill");
                Assert.Equal(present, KernelList.ContainsAll(start, start + 1));
                ledger.Settle(start, present);
            }
        }
    }

    /// <summary>Creates and deletes random blocks of <paramref name="starts"/> until told to stop or the connection is lost.</summary>
    private static async Task ChurnAsync(PortReservationClient client, int[] starts, BlockLedger ledger, int seed, Func<bool> more)
    {
        var random = new Random(seed);
        while (more())
        {
            int start = starts[random.Next(starts.Length)];
            bool create = random.Next(2) == 0;
            ledger.Begin(start, create);
            try
            {
                if (create)
                {
                    await client.CreatePersistentAsync(PortReservationProtocol.Tcp, start, 2, cancellationToken: TestContext.Current.CancellationToken);
                }
                else
                {
                    await client.DeletePersistentAsync(PortReservationProtocol.Tcp, start, 2, TestContext.Current.CancellationToken);
                }

                ledger.End(start, create, acknowledged: true);
            }
            catch (PortReservationException e) when (e.Kind is PortReservationErrorKind.AddressAlreadyInUse or PortReservationErrorKind.NotFound)
            {
                ledger.End(start, create, acknowledged: false);
            }
            catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.Aborted)
            {
                // The daemon was killed with this call unanswered: it stays in flight.
                return;
            }
        }
    }

    private static async Task<bool> IsPresentAsync(PortReservationClient client, int start)
    {
        try
        {
            await client.LookupPersistentAsync(PortReservationProtocol.Tcp, start, 2, TestContext.Current.CancellationToken).WithTimeout();
            return true;
        }
        catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.NotFound)
        {
            return false;
        }
    }

    /// <summary>Per block: acknowledged creates and deletes, and calls sent but never answered.</summary>
    private sealed class BlockLedger
    {
        private readonly Dictionary<int, int[]> _counts = [];
        private long _total;

        public long Total => Interlocked.Read(ref _total);

        public void Begin(int start, bool create) => Add(start, create ? 2 : 3, 1);

        public void End(int start, bool create, bool acknowledged)
        {
            Add(start, create ? 2 : 3, -1);
            if (acknowledged)
            {
                Add(start, create ? 0 : 1, 1);
                Interlocked.Increment(ref _total);
            }
        }

        public (int Creates, int Deletes) Acknowledged(int start)
        {
            lock (_counts)
            {
                int[] c = Counts(start);
                return (c[0], c[1]);
            }
        }

        public (int Creates, int Deletes) InFlight(int start)
        {
            lock (_counts)
            {
                int[] c = Counts(start);
                return (c[2], c[3]);
            }
        }

        /// <summary>After a verified restart: the block's history starts again from what was restored.</summary>
        public void Settle(int start, bool present)
        {
            lock (_counts)
            {
                _counts[start] = [present ? 1 : 0, 0, 0, 0];
            }
        }

        private void Add(int start, int index, int delta)
        {
            lock (_counts)
            {
                Counts(start)[index] += delta;
            }
        }

        private int[] Counts(int start) => _counts.TryGetValue(start, out int[]? c) ? c : _counts[start] = new int[4];
    }
}
