namespace PortReserve.Protocol;

/// <summary>
/// One row of a listing. Owner pid 0 and uid <see cref="uint.MaxValue"/> mean none; token 0 means hidden. Persistent
/// rows name the users and groups allowed to consume them, and a declared one the <c>FILE:LINE</c> it comes from
/// (<see cref="Source"/>; empty for all others).
/// </summary>
internal readonly record struct ReservationEntry(
    PortBlock Block, PortReservationKind Kind, int OwnerPid, uint OwnerUid, ulong Token,
    IReadOnlyList<string> AllowedUsers, IReadOnlyList<string> AllowedGroups, string Source = "")
{
    public const uint NoUid = uint.MaxValue;

    /// <summary>The bytes this entry takes in a frame.</summary>
    public int EncodedSize => 22 + 2 + AllowedUsers.Concat(AllowedGroups).Sum(n => 2 + System.Text.Encoding.UTF8.GetByteCount(n)) + 2 + System.Text.Encoding.UTF8.GetByteCount(Source);

    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Block.Protocol);
        writer.WriteByte((byte)Kind);
        writer.WriteUInt16(checked((ushort)Block.Range.Start));
        writer.WriteUInt16(checked((ushort)Block.Range.Count));
        writer.WriteInt32(OwnerPid);
        writer.WriteUInt32(OwnerUid);
        writer.WriteUInt64(Token);
        writer.WriteStringList(AllowedUsers);
        writer.WriteStringList(AllowedGroups);
        writer.WriteString(Source);
    }

    public static ReservationEntry Read(ref FrameReader reader)
    {
        PortReservationProtocol protocol = reader.ReadProtocol();
        PortReservationKind kind = reader.ReadKind();
        var entry = new ReservationEntry(
            new PortBlock(protocol, reader.ReadUInt16(), reader.ReadUInt16()), kind,
            reader.ReadInt32(), reader.ReadUInt32(), reader.ReadUInt64(), reader.ReadStringList(CreatePersistentRequest.MaxConsumers), reader.ReadStringList(CreatePersistentRequest.MaxConsumers),
            reader.ReadString());
        return entry.Block.Range.IsValid ? entry : throw new ProtocolException($"listed block {entry.Block.Range} is not valid");
    }
}
