namespace PortReserve.Protocol;

/// <summary>
/// One row of a listing. Owner pid 0 and uid <see cref="uint.MaxValue"/> mean none; token 0 means hidden. Persistent
/// rows name the users and groups allowed to consume them.
/// </summary>
internal readonly record struct ReservationEntry(
    PortReservationProtocol Protocol, PortReservationKind Kind, PortRange Range, int OwnerPid, uint OwnerUid, ulong Token,
    IReadOnlyList<string> AllowedUsers, IReadOnlyList<string> AllowedGroups)
{
    public const uint NoUid = uint.MaxValue;

    /// <summary>The bytes this entry takes in a frame.</summary>
    public int EncodedSize => 22 + 2 + AllowedUsers.Concat(AllowedGroups).Sum(n => 2 + System.Text.Encoding.UTF8.GetByteCount(n));

    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteByte((byte)Kind);
        writer.WriteUInt16(checked((ushort)Range.Start));
        writer.WriteUInt16(checked((ushort)Range.Count));
        writer.WriteInt32(OwnerPid);
        writer.WriteUInt32(OwnerUid);
        writer.WriteUInt64(Token);
        writer.WriteStringList(AllowedUsers);
        writer.WriteStringList(AllowedGroups);
    }

    public static ReservationEntry Read(ref FrameReader reader)
    {
        var entry = new ReservationEntry(
            reader.ReadProtocol(), reader.ReadKind(), new PortRange(reader.ReadUInt16(), reader.ReadUInt16()),
            reader.ReadInt32(), reader.ReadUInt32(), reader.ReadUInt64(), reader.ReadStringList(CreatePersistentRequest.MaxConsumers), reader.ReadStringList(CreatePersistentRequest.MaxConsumers));
        return entry.Range.IsValid ? entry : throw new ProtocolException($"listed block {entry.Range} is not valid");
    }
}
