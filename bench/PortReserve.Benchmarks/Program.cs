using System.Globalization;
using PortReserve.Benchmarks;

// Measures every row of bench/results.md in one run on one machine, each next to its floor or peer.
//   PortReserve.Benchmarks --daemon artifacts/bin/portreserved --out bench/results.md [--quick]
// Run it through ./bench.sh, which builds, and runs it inside a private network namespace. A row with a floor or a peer
// is measured in rounds alternating with it (Interleaved), and its ratio is the median of the per-round ratios.
string output = Argument("--out") ?? "bench/results.md";
Daemon.Executable = Argument("--daemon") ?? Daemon.Executable;
bool quick = args.Contains("--quick");
int scale = quick ? 10 : 1;
int rounds = quick ? 3 : 7;
var rows = new List<ResultRow>();
double loadedRss = 0;
double busyDaemonCpu = 0;
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

Console.WriteLine("floors: SEQPACKET echo, bind(0)");
await using EchoFloor echo = await EchoFloor.StartAsync();
Latencies echoAll = await echo.MeasureAsync(20_000 / scale);
Latencies bindZeroAll = FloorBenchmarks.BindZero(20_000 / scale);
rows.Add(new("echo (IPC floor)", $"p50 {echoAll.Median:F1} µs, p99 {echoAll.P99:F1} µs, {echoAll.PerSecond:N0}/s", "—", "—", "—", "floor"));
rows.Add(new("bind(0) (kernel floor)", $"p50 {bindZeroAll.Median:F1} µs, p99 {bindZeroAll.P99:F1} µs", "—", "—", "—", "floor"));
Func<Task<double>> echoChunk = async () => (await echo.MeasureAsync(5_000 / scale)).Median;

string portServerAddress = $"@prb-ours-{Environment.ProcessId}";
(Daemon daemon, _) = await Daemon.StartAsync(null, "--portserver-address", portServerAddress);
await using (daemon)
{
    var owned = new List<IAsyncDisposable>();

    // Its two seconds of pairs warm the daemon up (tiered compilation) before anything is timed.
    Func<int, Task<Latencies>> single = await ReservationBenchmarks.AcquireReleaseLoopAsync(daemon, 1, owned);
    (double Rate, double DaemonCpu, double ClientCpu) oneClient = default;
    (double Rate, double DaemonCpu, double ClientCpu) sixteenClients = default;
    foreach (int clients in (int[])[1, 4, 16, 64])
    {
        Console.WriteLine($"acquire+release, {clients} clients");
        (double rate, double daemonCpu, double clientCpu) = await ReservationBenchmarks.ConcurrentPairsPerSecondAsync(daemon, clients, TimeSpan.FromSeconds(quick ? 1 : 4));
        oneClient = clients == 1 ? (rate, daemonCpu, clientCpu) : oneClient;
        sixteenClients = clients == 16 ? (rate, daemonCpu, clientCpu) : sixteenClients;
        rows.Add(new($"acquire+release, {clients} client{(clients > 1 ? "s" : string.Empty)}", $"{rate:N0} pairs/s", "—", "—",
            clients == 16 ? "≥ 40,000 pairs/s" : "—", clients == 16 ? Verdict(rate >= 40_000) : "—",
            $"CPU per pair: daemon {daemonCpu:F0} µs, clients {clientCpu:F0} µs (2 cores: {Environment.ProcessorCount * 1_000_000 / (daemonCpu + clientCpu):N0} pairs/s if CPU-bound)"));
    }

    rows.Add(new("client CPU per acquire+release", $"{oneClient.ClientCpu:F0} µs (1 client)", $"{sixteenClients.ClientCpu:F0} µs with 16 clients", "—", "≤ 40 µs", Verdict(oneClient.ClientCpu <= 40),
        "process CPU of the client over the 1-client run, per pair: a reply wakes only the connection's reader thread, blocked in recv(2), and a lone caller continues on it; two sends, two receives and two wakeups per pair"));
    rows.Add(new("daemon CPU per acquire+release", $"{sixteenClients.DaemonCpu:F0} µs (16 clients)", $"{oneClient.DaemonCpu:F0} µs with 1 client", "—", "≤ 30 µs", Verdict(sixteenClients.DaemonCpu <= 30),
        $"process CPU of portreserved over the 16-client run, per pair: one event-loop thread, one kernel list write per loop turn however many requests it served; most of it is in the kernel (receives, sends, waking the clients, the bind probe, the list write). Alone, a client makes the loop sleep and wake for every request: {oneClient.DaemonCpu:F0} µs"));

    try
    {
        Console.WriteLine("acquire+release of 1 port vs echo, interleaved");
        Func<Task<double>> singleChunk = async () => (await single(2_000 / scale)).Median;
        Comparison pair = await Interleaved.CompareAsync(rounds, echoChunk, singleChunk);
        rows.Add(new("acquire+release, 1 port", $"p50 {pair.Row:F1} µs", $"echo p50 {pair.Floor:F1} µs", pair.Describe(), "≤ 3×", Verdict(pair.Ratio <= 3),
            $"two round trips ({2 * pair.Floor:F0} µs of echo) and two kernel commits; the rest is the request path's CPU, {oneClient.DaemonCpu:F0} µs in the daemon and {oneClient.ClientCpu:F0} µs in the client per pair (1-client run)"));

        Console.WriteLine("acquire+release of 100 ports vs 1 port, interleaved");
        Func<int, Task<Latencies>> hundred = await ReservationBenchmarks.AcquireReleaseLoopAsync(daemon, 100, owned);
        Comparison block = await Interleaved.CompareAsync(rounds, singleChunk, async () => (await hundred(500 / scale)).Median);
        rows.Add(new("acquire+release, 100 ports", $"p50 {block.Row:F1} µs", $"1 port p50 {block.Floor:F1} µs", block.Describe(), "≤ 2×", Verdict(block.Ratio <= 2),
            $"{(block.Row - block.Floor) / 99:F1} µs more per port: each port of a wildcard block is probed with a bind; the kernel's socket dump would check the block at once but walks its whole TCP connection table (milliseconds)"));

        Console.WriteLine("reserved bind vs bind(0), interleaved");
        Func<int, Latencies> reserved = await ReservationBenchmarks.ReservedBindLoopAsync(daemon, owned);
        Comparison bind = await Interleaved.CompareAsync(rounds, () => Task.FromResult(FloorBenchmarks.BindZero(10_000 / scale).Median), () => Task.FromResult(reserved(10_000 / scale).Median));
        rows.Add(new("reserved bind", $"p50 {bind.Row:F1} µs", $"bind(0) p50 {bind.Floor:F1} µs", bind.Describe(), "≤ 1.2×", Verdict(bind.Ratio <= 1.2), $"associate + bind from own reservation + close, no daemon call: {bind.Row - bind.Floor:F1} µs over a plain bind"));
    }
    finally
    {
        foreach (IAsyncDisposable disposable in owned)
        {
            await disposable.DisposeAsync();
        }
    }

    Console.WriteLine("portserver grants: ours vs Debian's portserver, interleaved");
    await using (PortServerBenchmark portServer = await PortServerBenchmark.StartAsync())
    {
        int grants = 300 / scale;
        Comparison speed = await Interleaved.CompareAsync(rounds, () => portServer.GrantsPerSecondAsync(portServer.DebianAddress, grants), () => portServer.GrantsPerSecondAsync(portServerAddress, grants));
        double ceiling = await portServer.GrantsPerSecondAsync(portServer.ResponderAddress, grants * 2);

        // The bound: ours serves grants one at a time on one thread, so its CPU per grant caps the rate whatever the client does.
        TimeSpan daemonCpu = daemon.CpuTime();
        const int cpuGrants = 3_000; // the process clock counts in 10 ms ticks
        await portServer.GrantsPerSecondAsync(portServerAddress, cpuGrants);
        double daemonMicroseconds = (daemon.CpuTime() - daemonCpu).TotalMicroseconds / cpuGrants;
        double cap = 1e6 / daemonMicroseconds;
        rows.Add(new("portserver grants", $"{speed.Row:N0} grants/s", $"Debian portserver {speed.Floor:N0} grants/s", speed.Describe("F1"), "≥ 6×", Verdict(speed.Ratio >= 6),
            $"same client, sequential, one pid; a responder that only answers gives this client {ceiling:N0} grants/s ({ceiling / speed.Floor:F1}× Debian's), the most any server can show here. "
            + $"Ours spends {daemonMicroseconds:F0} µs of CPU per grant, nearly all on one thread (an accept, a pidfd, a bind probe per protocol, the crash record and the kernel list write, a process watch), "
            + $"which caps it near {cap:N0} grants/s ({cap / speed.Floor:F1}× Debian's) however fast the client"));
    }

    loadedRss = daemon.ResidentMegabytes();
    busyDaemonCpu = sixteenClients.DaemonCpu;
}

Console.WriteLine("exclusive binds: hooks attached vs not, interleaved rounds");
foreach (ExclusiveBindsBenchmark.Comparison cost in await ExclusiveBindsBenchmark.RunAsync(quick ? 3 : 9, 50_000 / scale, 5_000 / scale))
{
    if (cost.What == "refused bind")
    {
        rows.Add(new("bind refused by the hook, and reported", $"CPU {cost.WithHooks:F2} µs", $"unreserved bind, hook attached, CPU {cost.WithoutHooks:F2} µs", $"{cost.Ratio:F2}×", "≤ 1.5×", Verdict(cost.Ratio <= 1.5),
            "the binding thread's CPU per socket+bind+close through libc (no .NET exception either way) of a port another process holds, against an unreserved port, both with the hook attached; refused, the hook reads the port's policy, the lease and the live map, sets EACCES and reports the refusal into its ring (at most 100 a second per uid; the rest pass the limiter's one lookup). The fast path for unreserved ports is the row above, unchanged"));
        continue;
    }

    bool isBind = cost.What.StartsWith("bind", StringComparison.Ordinal);
    string unit = isBind ? "CPU" : "p50";
    rows.Add(new($"{cost.What}, bind hook attached", $"{unit} {cost.WithHooks:F2} µs", $"no hook {unit} {cost.WithoutHooks:F2} µs", $"{cost.Ratio:F2}×", "≤ 1.1×", Verdict(cost.Ratio <= 1.1),
        isBind
            ? "the binding thread's CPU per create+bind+close; median of per-round ratios over 9 interleaved rounds (a daemon with --exclusive-binds off, then on, holding 1,000 reservations); the hook allows port 0 at once, and an unheld port after one map lookup"
            : "median of per-round ratios over interleaved rounds; the change also writes the hook's port and policy maps (memory stores, no system call) and the reservation's crash record (a system call each way, in the row below)"));
}

Console.WriteLine("crash record per acquire+release");
double record = RecordBenchmark.CpuPerPair(50_000 / scale);
rows.Add(new("crash record per acquire+release", $"CPU {record:F2} µs", $"daemon CPU per pair {busyDaemonCpu:F0} µs (16 clients)", $"{record / busyDaemonCpu:P1}", "≤ 10%", Verdict(record / busyDaemonCpu <= 0.10),
    "the pinned runtime map's record written before each grant (BPF_MAP_UPDATE_ELEM, 8-byte key, 64-byte value, allocated as used) and deleted at the release, on a map holding 1,000 records, in this thread's CPU time, against the daemon's whole CPU per pair when it is busiest (the record is per pair, the kernel list write per turn); it is what lets a restarted daemon give live holders their reservations back"));

Console.WriteLine("at scale: 10,000 live reservations from 1,000 connections, on a fresh daemon");
(Daemon fresh, _) = await Daemon.StartAsync();
await using (fresh)
{
    (double Total, double Anonymous, double File, double Shared) idle = fresh.Resident();
    (Latencies atScale, (double Total, double Anonymous, double File, double Shared) loaded) = await ReservationBenchmarks.AtScaleAsync(fresh, 1000 / scale, 10_000 / scale, 5000 / scale);
    double rss = loaded.Total;
    rows.Add(new("acquire at 10,000 live", $"p50 {atScale.Median:F1} µs, p99 {atScale.P99:F1} µs", "—", "—", "p99 ≤ 2 ms", Verdict(atScale.P99 <= 2000), "1,000 connections holding 10 each; acquire+release on one more"));
    rows.Add(new("daemon RSS, idle", $"{idle.Total:F1} MB", "—", "—", "≤ 40 MB", Verdict(idle.Total <= 40),
        $"fresh daemon: {idle.File:F1} MB of mapped files (the runtime's and the daemon's code, clean pages shared with every .NET process), {idle.Shared:F1} MB shared (the bind hook's two 1 MiB maps and the runtime's double-mapped JIT code), {idle.Anonymous:F1} MB anonymous (heaps and stacks)"));
    rows.Add(new("daemon RSS at 10,000 live", $"{rss:F1} MB", $"idle {idle.Total:F1} MB", $"+{rss - idle.Total:F1} MB", "≤ 64 MB", Verdict(rss <= 64),
        $"the same daemon after 1,000 connections acquired 10 each at once and one more made 5,200 acquire+release pairs: anonymous memory grew {loaded.Anonymous - idle.Anonymous:F1} MB and mapped files {loaded.File - idle.File:F1} MB. The daemon that served every row above held {loadedRss:F1} MB"));
}

Console.WriteLine("startup with 10,000 persistent reservations");
List<double> starts = await StartupBenchmark.RunAsync(10_000 / scale, quick ? 2 : 5);
double startMedian = starts.Order().ElementAt(starts.Count / 2);
rows.Add(new("startup, 10,000 persistent", $"median {startMedian:F0} ms (of {starts.Count}: {string.Join(", ", starts.Select(s => s.ToString("F0")))})", "—", "—", "≤ 300 ms", Verdict(startMedian <= 300), "process start to first status reply"));

string markdown = ResultsDocument.Render(rows, quick);
await File.WriteAllTextAsync(output, markdown);
Console.WriteLine(markdown);
return 0;

// The last occurrence wins, so ./bench.sh --out FILE overrides the script's own default.
string? Argument(string name) => Array.LastIndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static string Verdict(bool met) => met ? "met" : "missed";
