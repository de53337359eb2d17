namespace PortReserve.Declarations;

/// <summary>
/// One valid line of a reservations.d file: a persistent reservation of <see cref="Count"/> ports from
/// <see cref="Start"/>, and the users and groups (by name or id, as written) allowed to consume it.
/// </summary>
internal sealed record DeclaredBlock(
    PortReservationProtocol Protocol, int Start, int Count, IReadOnlyList<string> Users, IReadOnlyList<string> Groups, string File, int Line)
{
    public int End => Start + Count - 1;

    /// <summary>Where the line is, as <c>FILE:LINE</c>: what <c>show</c> prints and what to edit.</summary>
    public string Source => $"{File}:{Line}";

    /// <summary>The block as the line would be written: "tcp 8080" or "udp 5000-5019".</summary>
    public string Describe() => $"{(Protocol == PortReservationProtocol.Tcp ? "tcp" : "udp")} {(Count == 1 ? $"{Start}" : $"{Start}-{End}")}";

    public bool Overlaps(DeclaredBlock other) => Protocol == other.Protocol && Start <= other.End && other.Start <= End;
}
