using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PortReserve.Benchmarks;

/// <summary>Runtime reservations through the real client library against the real daemon.</summary>
internal static class ReservationBenchmarks
{
    /// <summary>
    /// Wildcard acquire of <paramref name="ports"/> ports and release, back to back on one connection: connects and warms
    /// up (two seconds of pairs, so both processes run tiered-up code), then times as many chunks as asked.
    /// </summary>
    public static async Task<Func<int, Task<Latencies>>> AcquireReleaseLoopAsync(Daemon daemon, int ports, List<IAsyncDisposable> owned)
    {
        PortReservationClient client = await PortReservationClient.ConnectAsync(daemon.Options);
        owned.Add(client);
        async Task PairAsync()
        {
            PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, ports);
            await reservation.ReleaseAsync();
        }

        long warmUntil = Stopwatch.GetTimestamp() + (2 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < warmUntil)
        {
            await PairAsync();
        }

        return count => Latencies.MeasureAsync(0, count, PairAsync);
    }

    /// <summary>One chunk of wildcard acquire+release pairs on a fresh, warmed connection.</summary>
    public static async Task<Latencies> AcquireReleaseAsync(Daemon daemon, int ports, int count)
    {
        var owned = new List<IAsyncDisposable>();
        try
        {
            return await (await AcquireReleaseLoopAsync(daemon, ports, owned))(count);
        }
        finally
        {
            foreach (IAsyncDisposable disposable in owned)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Total acquire+release pairs per second with <paramref name="clients"/> connections working at once, and the CPU
    /// each pair cost in the daemon and in the client process.
    /// </summary>
    public static async Task<(double PairsPerSecond, double DaemonCpuMicroseconds, double ClientCpuMicroseconds)> ConcurrentPairsPerSecondAsync(Daemon daemon, int clients, TimeSpan duration)
    {
        var connections = new List<PortReservationClient>();
        for (int i = 0; i < clients; i++)
        {
            connections.Add(await PortReservationClient.ConnectAsync(daemon.Options));
        }

        long pairs = 0;
        using var stop = new CancellationTokenSource();
        var warm = new TaskCompletionSource();
        long started = 0;
        Task[] loops = [.. connections.Select(client => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Udp, 0, 1);
                await reservation.ReleaseAsync();
                if (warm.Task.IsCompleted)
                {
                    Interlocked.Increment(ref pairs);
                }
            }
        }))];

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        started = Stopwatch.GetTimestamp();
        TimeSpan daemonCpu = daemon.CpuTime();
        TimeSpan clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        warm.SetResult();
        await Task.Delay(duration);
        long counted = Interlocked.Read(ref pairs);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        daemonCpu = daemon.CpuTime() - daemonCpu;
        clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        foreach (PortReservationClient client in connections)
        {
            await client.DisposeAsync();
        }

        return (counted / seconds, daemonCpu.TotalMicroseconds / counted, clientCpu.TotalMicroseconds / counted);
    }

    /// <summary>
    /// Associate + bind(0) from one's own runtime reservation + close, with no daemon round trip: acquires the block once,
    /// then times as many chunks as asked.
    /// </summary>
    public static async Task<Func<int, Latencies>> ReservedBindLoopAsync(Daemon daemon, List<IAsyncDisposable> owned)
    {
        PortReservationClient client = await PortReservationClient.ConnectAsync(daemon.Options);
        owned.Add(client);
        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 100);
        owned.Add(reservation);
        return count => Latencies.Measure(2000, count, () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            reservation.Associate(socket);
            socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
        });
    }

    /// <summary>Acquire latency with <paramref name="live"/> reservations held by <paramref name="connections"/> connections; daemon RSS.</summary>
    public static async Task<(Latencies Acquire, (double Total, double Anonymous, double File, double Shared) Resident)> AtScaleAsync(Daemon daemon, int connections, int live, int count)
    {
        var holders = new List<PortReservationClient>();
        for (int i = 0; i < connections; i++)
        {
            holders.Add(await PortReservationClient.ConnectAsync(daemon.Options));
        }

        int perConnection = live / connections;
        await Task.WhenAll(holders.Select(async client =>
        {
            for (int i = 0; i < perConnection; i++)
            {
                await client.AcquireAsync(i % 2 == 0 ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp, 0, 1);
            }
        }));

        await using PortReservationClient probe = await PortReservationClient.ConnectAsync(daemon.Options);
        var held = new List<PortReservation>(count);
        var acquire = new Latencies(count);
        for (int i = 0; i < count + 200; i++)
        {
            long start = Stopwatch.GetTimestamp();
            PortReservation reservation = await probe.AcquireAsync(PortReservationProtocol.Tcp, 0, 1);
            if (i >= 200)
            {
                acquire.Add(start, Stopwatch.GetTimestamp());
            }

            await reservation.ReleaseAsync();
        }

        var rss = daemon.Resident();
        foreach (PortReservationClient client in holders)
        {
            await client.DisposeAsync();
        }

        return (acquire, rss);
    }
}
