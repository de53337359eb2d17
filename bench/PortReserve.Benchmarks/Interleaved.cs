namespace PortReserve.Benchmarks;

/// <summary>
/// A row against its floor or peer, measured in rounds that alternate the two (and which goes first), so that a quiet
/// or noisy moment of a shared machine falls on both: the ratio reported is the median of the per-round ratios.
/// </summary>
internal static class Interleaved
{
    public static async Task<Comparison> CompareAsync(int rounds, Func<Task<double>> floor, Func<Task<double>> row)
    {
        var floors = new List<double>();
        var rows = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            if (round % 2 == 0)
            {
                floors.Add(await floor());
                rows.Add(await row());
            }
            else
            {
                rows.Add(await row());
                floors.Add(await floor());
            }
        }

        return new Comparison(Median(floors), Median(rows), [.. rows.Zip(floors, (r, f) => r / f)]);
    }

    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>The medians of the floor's and the row's measurements, and the per-round ratios row/floor.</summary>
internal sealed record Comparison(double Floor, double Row, IReadOnlyList<double> Ratios)
{
    public double Ratio => Interleaved.Median(Ratios);

    /// <summary>"median 2.31× (2.10–2.52 over 7 rounds)".</summary>
    public string Describe(string format = "F2") => $"{Ratio.ToString(format)}× ({Ratios.Min().ToString(format)}–{Ratios.Max().ToString(format)} over {Ratios.Count} rounds)";
}
