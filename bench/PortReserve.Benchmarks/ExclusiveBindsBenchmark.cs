using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PortReserve.Benchmarks;

/// <summary>
/// What exclusive binds cost: binds (every bind on the machine passes the hook) and acquire+release (each change also
/// updates the hook's maps), with the hooks attached and without, in interleaved rounds: each round starts a daemon
/// with --exclusive-binds off and one with on, one after the other (in alternating order, so neither always goes
/// first), lets it settle, measures, and stops it. Binds are measured in the binding thread's CPU time (what the hook
/// adds is CPU in that thread, and CPU time is not inflated by time spent descheduled); acquire+release, which waits
/// on the daemon, in elapsed time. The ratio reported is the median of the per-round ratios, so one noisy round cannot
/// decide it.
/// </summary>
internal static class ExclusiveBindsBenchmark
{
    private const int UnreservedPort = 47_123;
    private const int RefusedPort = 47_200;

    public static async Task<IReadOnlyList<Comparison>> RunAsync(int rounds, int binds, int pairs)
    {
        // With the hooks: a bind the hook refuses and reports (the holder is another process), against an unreserved bind.
        var refused = (Unreserved: new List<double>(), Refused: new List<double>());
        var measured = new Dictionary<string, (List<double> Off, List<double> On)>
        {
            ["bind(0)"] = ([], []),
            ["bind of an unreserved port"] = ([], []),
            ["acquire+release, 1 port"] = ([], []),
        };

        for (int round = 0; round < rounds; round++)
        {
            foreach (bool hooks in round % 2 == 0 ? (bool[])[false, true] : [true, false])
            {
                (Daemon daemon, _) = await Daemon.StartAsync(null, "--exclusive-binds", hooks ? "on" : "off");
                await using (daemon)
                {
                    // A thousand live reservations, so the hook's maps are not empty while it is timed.
                    await using PortReservationClient holder = await PortReservationClient.ConnectAsync(daemon.Options);
                    for (int i = 0; i < 1000; i++)
                    {
                        await holder.AcquireAsync(PortReservationProtocol.Tcp, 0, 1);
                    }

                    // A daemon just started still compiles in the background; on two cores that would be timed too.
                    await Task.Delay(TimeSpan.FromSeconds(1));

                    Record(measured["bind(0)"], hooks, ThreadCpuTime.PerCall(binds, BindZero));
                    Record(measured["bind of an unreserved port"], hooks, ThreadCpuTime.PerCall(binds, BindUnreserved));
                    Record(measured["acquire+release, 1 port"], hooks, (await ReservationBenchmarks.AcquireReleaseAsync(daemon, 1, pairs)).Median);
                    if (hooks)
                    {
                        using Process elsewhere = await HoldElsewhereAsync(daemon, RefusedPort);
                        refused.Refused.Add(ThreadCpuTime.PerCall(binds, () => RawBind.Bind(RefusedPort)));
                        refused.Unreserved.Add(ThreadCpuTime.PerCall(binds, () => RawBind.Bind(UnreservedPort)));
                        elsewhere.Kill(entireProcessTree: true);
                        await elsewhere.WaitForExitAsync();
                        for (int i = 0; i < 500 && Refused(RefusedPort); i++)
                        {
                            await Task.Delay(10);
                        }
                    }
                }
            }
        }

        return
        [
            .. measured.Select(m => new Comparison(m.Key, Median(m.Value.On), Median(m.Value.Off), Median([.. m.Value.On.Zip(m.Value.Off, (on, off) => on / off)]))),
            new Comparison("refused bind", Median(refused.Refused), Median(refused.Unreserved), Median([.. refused.Refused.Zip(refused.Unreserved, (r, u) => r / u)])),
        ];
    }

    /// <summary>A runtime reservation of <paramref name="port"/> held by another process (portreserve run), once the hook enforces it.</summary>
    private static async Task<Process> HoldElsewhereAsync(Daemon daemon, int port)
    {
        var start = new ProcessStartInfo(Path.Combine(Path.GetDirectoryName(Daemon.Executable)!, "portreserve")) { RedirectStandardOutput = true };
        foreach (string argument in (string[])["--socket", daemon.SocketPath, "run", "--tcp-at", $"{port}:1", "--", "sleep", "600"])
        {
            start.ArgumentList.Add(argument);
        }

        Process holder = Process.Start(start)!;
        for (int i = 0; i < 500 && !Refused(port); i++)
        {
            await Task.Delay(10);
        }

        return holder;
    }

    private static bool Refused(int port) => RawBind.Bind(port) == 13;


    private static void Record((List<double> Off, List<double> On) series, bool hooks, double median) => (hooks ? series.On : series.Off).Add(median);

    private static void BindZero() => Bind(0);

    private static void BindUnreserved() => Bind(UnreservedPort);

    private static void Bind(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>One measured figure with the hooks and without: the medians of the rounds' medians, and of their ratios.</summary>
    internal sealed record Comparison(string What, double WithHooks, double WithoutHooks, double Ratio);
}
