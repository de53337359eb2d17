namespace PortReserve.Declarations;

/// <summary>
/// Why a line of a reservations.d file (or a whole file, <see cref="Line"/> 0) was skipped; printed as
/// <c>FILE:LINE: reason</c>, the form editors and CI logs link to.
/// </summary>
internal sealed record DeclarationProblem(string File, int Line, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Reason}" : $"{File}: {Reason}";
}
