using System.Diagnostics;

namespace PortReserve.Benchmarks;

/// <summary>Per-operation timings of one measurement, summarised as percentiles and a rate.</summary>
internal sealed class Latencies(int capacity)
{
    private readonly List<long> _ticks = new(capacity);
    private long _elapsed;

    public int Count => _ticks.Count;

    public void Add(long startTimestamp, long endTimestamp) => _ticks.Add(endTimestamp - startTimestamp);

    public void AddElapsed(long ticks) => _elapsed += ticks;

    public double PercentileMicroseconds(double percentile)
    {
        long[] sorted = [.. _ticks.Order()];
        int index = Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[index] * 1_000_000.0 / Stopwatch.Frequency;
    }

    public double Median => PercentileMicroseconds(50);

    public double P99 => PercentileMicroseconds(99);

    /// <summary>Operations per second over the summed operation time (one client: back to back).</summary>
    public double PerSecond => _ticks.Count / (_ticks.Sum() / (double)Stopwatch.Frequency);

    /// <summary>Times <paramref name="operation"/> <paramref name="count"/> times after <paramref name="warmup"/> untimed runs.</summary>
    public static async Task<Latencies> MeasureAsync(int warmup, int count, Func<Task> operation)
    {
        for (int i = 0; i < warmup; i++)
        {
            await operation();
        }

        var latencies = new Latencies(count);
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await operation();
            latencies.Add(start, Stopwatch.GetTimestamp());
        }

        return latencies;
    }

    public static Latencies Measure(int warmup, int count, Action operation)
    {
        for (int i = 0; i < warmup; i++)
        {
            operation();
        }

        var latencies = new Latencies(count);
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            operation();
            latencies.Add(start, Stopwatch.GetTimestamp());
        }

        return latencies;
    }
}
