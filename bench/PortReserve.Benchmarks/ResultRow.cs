namespace PortReserve.Benchmarks;

/// <summary>One line of bench/results.md.</summary>
internal sealed record ResultRow(string Row, string Measured, string ComparedWith, string Ratio, string Target, string Verdict, string Notes = "");
