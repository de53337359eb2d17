using System.Globalization;
using PortReserve.Benchmarks;

// Measures every row of bench/results.md in one run on one machine, each next to its floor or peer.
//   PortReserve.Benchmarks --daemon artifacts/bin/portreserved --out bench/results.md [--quick]
// Run it through ./bench.sh, which builds, and runs it inside a private network namespace.
string output = Argument("--out") ?? "bench/results.md";
Daemon.Executable = Argument("--daemon") ?? Daemon.Executable;
bool quick = args.Contains("--quick");
int scale = quick ? 10 : 1;
var rows = new List<ResultRow>();
double loadedRss = 0;
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

Console.WriteLine("floors: SEQPACKET echo, bind(0)");
Latencies echo = await FloorBenchmarks.EchoAsync(50_000 / scale);
Latencies bindZero = FloorBenchmarks.BindZero(50_000 / scale);
rows.Add(new("echo (IPC floor)", $"p50 {echo.Median:F1} µs, p99 {echo.P99:F1} µs, {echo.PerSecond:N0}/s", "—", "—", "—", "floor"));
rows.Add(new("bind(0) (kernel floor)", $"p50 {bindZero.Median:F1} µs, p99 {bindZero.P99:F1} µs", "—", "—", "—", "floor"));

string portServerAddress = $"@prb-ours-{Environment.ProcessId}";
(Daemon daemon, _) = await Daemon.StartAsync(null, "--portserver-address", portServerAddress);
await using (daemon)
{
    foreach (int ports in (int[])[1, 100])
    {
        Console.WriteLine($"acquire+release of {ports} port(s), 1 client");
        Latencies pairs = await ReservationBenchmarks.AcquireReleaseAsync(daemon, ports, 20_000 / scale);
        double ratio = pairs.Median / echo.Median;
        rows.Add(new($"acquire+release, {ports} port{(ports > 1 ? "s" : string.Empty)}", $"p50 {pairs.Median:F1} µs, p99 {pairs.P99:F1} µs, {pairs.PerSecond:N0} pairs/s",
            $"echo p50 {echo.Median:F1} µs", $"{ratio:F2}×", "≤ 2.5×", Verdict(ratio <= 2.5),
            ports == 1
                ? "bounded by two round trips through async sockets on both sides (each reply crosses to the thread pool) and two kernel list writes"
                : "bounded by the in-use check: a wildcard block is probed port by port, one bind (4 syscalls) each; the kernel's socket dump would check the block at once but walks its whole TCP connection table, about 5 ms here"));
    }

    foreach (int clients in (int[])[1, 4, 16, 64])
    {
        Console.WriteLine($"acquire+release, {clients} clients");
        (double rate, double daemonCpu, double clientCpu) = await ReservationBenchmarks.ConcurrentPairsPerSecondAsync(daemon, clients, TimeSpan.FromSeconds(quick ? 1 : 4));
        rows.Add(new($"acquire+release, {clients} client{(clients > 1 ? "s" : string.Empty)}", $"{rate:N0} pairs/s", "—", "—",
            clients == 16 ? "≥ 40,000 pairs/s" : "—", clients == 16 ? Verdict(rate >= 40_000) : "—",
            $"CPU per pair: daemon {daemonCpu:F0} µs, clients {clientCpu:F0} µs (2 cores: {Environment.ProcessorCount * 1_000_000 / (daemonCpu + clientCpu):N0} pairs/s if CPU-bound)"));
    }

    Console.WriteLine("reserved bind");
    Latencies reserved = await ReservationBenchmarks.ReservedBindAsync(daemon, 50_000 / scale);
    double bindRatio = reserved.Median / bindZero.Median;
    rows.Add(new("reserved bind", $"p50 {reserved.Median:F1} µs, p99 {reserved.P99:F1} µs", $"bind(0) p50 {bindZero.Median:F1} µs", $"{bindRatio:F2}×", "≤ 1.2×", Verdict(bindRatio <= 1.2), "associate + bind from own reservation + close; no daemon call"));

    Console.WriteLine("portserver grants: Debian portserver vs portreserved");
    (double debian, double ours) = await PortServerBenchmark.RunAsync(daemon, portServerAddress, 2000 / scale);
    rows.Add(new("portserver grants", $"{ours:N0} grants/s", $"Debian portserver {debian:N0} grants/s", $"{ours / debian:F1}×", "≥ 6×", Verdict(ours / debian >= 6), "same client, sequential, one pid; each grant is a new connection, a pidfd, a TCP and a UDP bind probe, and a kernel list write"));

    loadedRss = daemon.ResidentMegabytes();
}

Console.WriteLine("exclusive binds: hooks attached vs not, interleaved rounds");
foreach (ExclusiveBindsBenchmark.Comparison cost in await ExclusiveBindsBenchmark.RunAsync(quick ? 3 : 9, 50_000 / scale, 5_000 / scale))
{
    bool isBind = cost.What.StartsWith("bind", StringComparison.Ordinal);
    string unit = isBind ? "CPU" : "p50";
    rows.Add(new($"{cost.What}, bind hook attached", $"{unit} {cost.WithHooks:F2} µs", $"no hook {unit} {cost.WithoutHooks:F2} µs", $"{cost.Ratio:F2}×", "≤ 1.1×", Verdict(cost.Ratio <= 1.1),
        isBind
            ? "the binding thread's CPU per create+bind+close; median of per-round ratios over 9 interleaved rounds (a daemon with --exclusive-binds off, then on, holding 1,000 reservations); the hook allows port 0 at once, and an unheld port after one map lookup"
            : "median of per-round ratios over interleaved rounds; the change also writes the hook's port and policy maps (memory stores, no system call)"));
}

Console.WriteLine("at scale: 10,000 live reservations from 1,000 connections, on a fresh daemon");
(Daemon fresh, _) = await Daemon.StartAsync();
await using (fresh)
{
    double idleRss = fresh.ResidentMegabytes();
    (Latencies atScale, double rss) = await ReservationBenchmarks.AtScaleAsync(fresh, 1000 / scale, 10_000 / scale, 5000 / scale);
    rows.Add(new("acquire at 10,000 live", $"p50 {atScale.Median:F1} µs, p99 {atScale.P99:F1} µs", "—", "—", "p99 ≤ 2 ms", Verdict(atScale.P99 <= 2000), "1,000 connections holding 10 each; acquire+release on one more"));
    rows.Add(new("daemon RSS at 10,000 live", $"{rss:F1} MB", $"idle {idleRss:F1} MB", $"+{rss - idleRss:F1} MB", "≤ 64 MB", Verdict(rss <= 64),
        $"fresh daemon. Idle is mostly the runtime's mapped code (CoreLib, coreclr, the JIT); the rest is GC heap grown by 1,000 connections acquiring at once. The daemon that served every row above held {loadedRss:F1} MB"));
}

Console.WriteLine("startup with 10,000 persistent reservations");
List<double> starts = await StartupBenchmark.RunAsync(10_000 / scale, quick ? 2 : 5);
double startMedian = starts.Order().ElementAt(starts.Count / 2);
rows.Add(new("startup, 10,000 persistent", $"median {startMedian:F0} ms (of {starts.Count}: {string.Join(", ", starts.Select(s => s.ToString("F0")))})", "—", "—", "≤ 300 ms", Verdict(startMedian <= 300), "process start to first status reply"));

string markdown = ResultsDocument.Render(rows, quick);
await File.WriteAllTextAsync(output, markdown);
Console.WriteLine(markdown);
return 0;

string? Argument(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static string Verdict(bool met) => met ? "met" : "missed";
