namespace PortReserve.Cli;

/// <summary>A plain left-aligned text table with a header rule, for people.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells);

    public async Task WriteAsync(TextWriter output)
    {
        int[] widths = [.. headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length)))];
        await output.WriteLineAsync(Format(headers, widths));
        await output.WriteLineAsync(Format([.. widths.Select(w => new string('-', w))], widths));
        foreach (string[] row in _rows)
        {
            await output.WriteLineAsync(Format(row, widths));
        }
    }

    private static string Format(string[] cells, int[] widths)
        => string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd();
}
