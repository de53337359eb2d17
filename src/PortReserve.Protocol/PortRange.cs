namespace PortReserve.Protocol;

/// <summary>A block of consecutive ports <c>[Start, Start + Count - 1]</c>.</summary>
internal readonly record struct PortRange(int Start, int Count)
{
    public const int MaxPort = 65535;

    public int End => Start + Count - 1;

    /// <summary>True when the block lies inside 1..65535 and is not empty.</summary>
    public bool IsValid => Count is >= 1 and <= MaxPort && Start is >= 1 and <= MaxPort && End <= MaxPort;

    public bool Contains(int port) => port >= Start && port <= End;

    public bool Overlaps(PortRange other) => Start <= other.End && other.Start <= End;

    public static PortRange FromBounds(int start, int end) => new(start, end - start + 1);

    public override string ToString() => Count == 1 ? Start.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{Start}-{End}";
}
