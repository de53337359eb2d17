namespace PortReserve.Protocol;

/// <summary>
/// A block of consecutive ports in one protocol's port space: what a reservation holds, and what acquire, lookup and
/// delete name on the wire. In an acquire, <c>Range.Start == 0</c> asks the daemon to choose the block.
/// </summary>
internal readonly record struct PortBlock(PortReservationProtocol Protocol, PortRange Range) : IRequestPayload
{
    public PortBlock(PortReservationProtocol protocol, int start, int count)
        : this(protocol, new PortRange(start, count))
    {
    }

    /// <summary>True when the daemon is asked to choose the block (start 0).</summary>
    public bool IsWildcard => Range.Start == 0;

    /// <summary>
    /// Why this block cannot be requested, or null when it can: the one statement of the range rule, for the client's
    /// argument checks and the daemon's refusals alike.
    /// </summary>
    public string? Problem(bool wildcardAllowed)
    {
        if (Protocol is not (PortReservationProtocol.Tcp or PortReservationProtocol.Udp))
        {
            return $"protocol {(int)Protocol} is neither TCP nor UDP";
        }

        if (IsWildcard && !wildcardAllowed)
        {
            return "a persistent reservation names its exact block: start 0 (any block) is for runtime reservations only";
        }

        int start = Range.Start;
        int count = Range.Count;
        return count is < 1 or > PortRange.MaxPort || start is < 0 or > PortRange.MaxPort || (start > 0 && start + count - 1 > PortRange.MaxPort)
            ? $"cannot reserve {count} port(s) from {start}: count must be 1-65535, start 1-65535 (0 for any), and the block must end at or below 65535"
            : null;
    }

    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteUInt16(checked((ushort)Range.Start));
        writer.WriteUInt16(checked((ushort)Range.Count));
    }

    /// <summary>Reads a block that must be the whole frame body.</summary>
    public static PortBlock Read(ref FrameReader reader)
    {
        PortBlock block = ReadFields(ref reader);
        reader.EnsureEnd();
        return block;
    }

    /// <summary>Reads a block at the reader's position, leaving what follows it.</summary>
    public static PortBlock ReadFields(ref FrameReader reader) => new(reader.ReadProtocol(), reader.ReadUInt16(), reader.ReadUInt16());

    public override string ToString() => $"{(Protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP")} {Range}";
}
