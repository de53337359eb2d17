namespace PortReserve.Declarations;

/// <summary>
/// Why a line of a reservations.d file (or a whole file, <see cref="Line"/> 0) was skipped; printed as
/// <c>FILE:LINE: reason</c>, the form editors and CI logs link to.
/// </summary>
internal sealed record DeclarationProblem(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";

    /// <summary>Problems in reading order: by file, as <paramref name="files"/> were read (directories first), then by line.</summary>
    public static List<DeclarationProblem> InReadingOrder(IEnumerable<DeclarationProblem> problems, IReadOnlyList<string> files)
    {
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < files.Count; i++)
        {
            rank.TryAdd(files[i], i);
        }

        return [.. problems.OrderBy(p => rank.GetValueOrDefault(p.File, -1)).ThenBy(p => p.Line)];
    }
}
