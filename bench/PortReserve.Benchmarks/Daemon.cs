using System.Diagnostics;

namespace PortReserve.Benchmarks;

/// <summary>portreserved under measurement: a child process with its own socket and state directory.</summary>
internal sealed class Daemon : IAsyncDisposable
{
    private readonly Process _process;

    private Daemon(Process process, string directory)
    {
        _process = process;
        Directory = directory;
    }

    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, "s");

    public PortReservationClientOptions Options => new() { SocketPath = SocketPath };

    public static string Executable { get; set; } = "artifacts/bin/portreserved";

    /// <summary>
    /// Starts the daemon in <paramref name="directory"/> (or a new temp one) and returns once it answers, with the time
    /// that took. It pins its hooks in a directory of its own in bench.sh's private bpf filesystem.
    /// </summary>
    public static async Task<(Daemon Daemon, TimeSpan StartToReady)> StartAsync(string? directory = null, params string[] arguments)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("prb-").FullName;
        var start = new ProcessStartInfo(Executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in (string[])["--socket", Path.Combine(directory, "s"), "--state-dir", Path.Combine(directory, "state"), "--config-dir", Path.Combine(directory, "reservations.d"), "--log-level", "Warning", "--bpf-dir", $"/sys/fs/bpf/{Path.GetFileName(directory)}", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        long started = Stopwatch.GetTimestamp();
        Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine("portreserved: " + e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var daemon = new Daemon(process, directory);
        await daemon.WaitReadyAsync();
        return (daemon, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Resident set size in MiB, from /proc.</summary>
    public double ResidentMegabytes() => Resident().Total;

    /// <summary>
    /// Resident set size in MiB, and its parts: anonymous memory (the managed heap, native allocations), file pages
    /// (mapped runtime and application code, clean and shared with every other .NET process) and shared memory (the bind
    /// hook's maps, W^X double-mapped code).
    /// </summary>
    public (double Total, double Anonymous, double File, double Shared) Resident()
    {
        Dictionary<string, double> fields = File.ReadLines($"/proc/{_process.Id}/status")
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && parts[0].StartsWith("Rss", StringComparison.Ordinal) || parts[0] == "VmRSS")
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0);
        return (fields["VmRSS"], fields["RssAnon"], fields["RssFile"], fields["RssShmem"]);
    }

    /// <summary>CPU time the daemon has used (user + system), from /proc/PID/stat.</summary>
    public TimeSpan CpuTime()
    {
        string stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();

        // A killed daemon leaves its hooks pinned (in bench.sh's own bpf filesystem) and the cgroups of run commands'
        // process trees (in the machine's cgroup tree): released, as stopping PortReserve for good does.
        var release = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["--release-kernel", "--state-dir", Path.Combine(Directory, "state"), "--bpf-dir", $"/sys/fs/bpf/{Path.GetFileName(Directory)}"])
        {
            release.ArgumentList.Add(argument);
        }

        using Process released = Process.Start(release)!;
        await released.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task WaitReadyAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await using PortReservationClient client = await PortReservationClient.ConnectAsync(Options);
                await client.GetStatusAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                return;
            }
            catch (PortReservationException) when (attempt < 3000 && !_process.HasExited)
            {
                await Task.Delay(1);
            }
        }
    }
}
