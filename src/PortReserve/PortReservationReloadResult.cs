namespace PortReserve;

/// <summary>What reloading the daemon's reservations.d files did (<see cref="PortReservationClient.ReloadDeclarationsAsync"/>).</summary>
public sealed class PortReservationReloadResult
{
    /// <summary>How many *.conf files were read.</summary>
    public int Files { get; init; }

    /// <summary>Declared reservations created for new lines.</summary>
    public int Added { get; init; }

    /// <summary>Declared reservations deleted because their lines are gone.</summary>
    public int Removed { get; init; }

    /// <summary>Declared reservations whose allowed users or groups changed (block and token kept).</summary>
    public int Updated { get; init; }

    /// <summary>Declared reservations left as they were.</summary>
    public int Unchanged { get; init; }

    /// <summary>The skipped lines, in reading order; as many as one reply holds (see <see cref="TotalProblems"/>).</summary>
    public IReadOnlyList<PortReservationFileProblem> Problems { get; init; } = [];

    /// <summary>How many lines were skipped in all; the daemon's log names each of them.</summary>
    public int TotalProblems { get; init; }
}

/// <summary>A line of a reservations.d file that was skipped (or a file that could not be read, <see cref="Line"/> 0), and why.</summary>
/// <param name="File">The file.</param>
/// <param name="Line">The line number, from 1; 0 for the whole file.</param>
/// <param name="Reason">What is wrong, or what the line conflicts with.</param>
public sealed record PortReservationFileProblem(string File, int Line, string Reason)
{
    /// <summary><c>FILE:LINE: reason</c>, the form editors and CI logs link to.</summary>
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}
