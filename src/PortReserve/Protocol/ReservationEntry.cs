namespace PortReserve.Protocol;

/// <summary>One row of a listing. Owner pid 0 and uid <see cref="uint.MaxValue"/> mean none; token 0 means hidden.</summary>
internal readonly record struct ReservationEntry(
    PortReservationProtocol Protocol, PortReservationKind Kind, PortRange Range, int OwnerPid, uint OwnerUid, ulong Token)
{
    public const int Size = 1 + 1 + 2 + 2 + 4 + 4 + 8;
    public const uint NoUid = uint.MaxValue;

    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteByte((byte)Kind);
        writer.WriteUInt16(checked((ushort)Range.Start));
        writer.WriteUInt16(checked((ushort)Range.Count));
        writer.WriteInt32(OwnerPid);
        writer.WriteUInt32(OwnerUid);
        writer.WriteUInt64(Token);
    }

    public static ReservationEntry Read(ref FrameReader reader)
    {
        var entry = new ReservationEntry(
            reader.ReadProtocol(), reader.ReadKind(), new PortRange(reader.ReadUInt16(), reader.ReadUInt16()),
            reader.ReadInt32(), reader.ReadUInt32(), reader.ReadUInt64());
        return entry.Range.IsValid ? entry : throw new ProtocolException($"listed block {entry.Range} is not valid");
    }
}
