namespace PortReserve.Protocol;

/// <summary>The block and token of a reservation the daemon granted.</summary>
internal readonly record struct ReservationGrant(PortReservationProtocol Protocol, PortRange Range, ulong Token)
{
    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteUInt16(checked((ushort)Range.Start));
        writer.WriteUInt16(checked((ushort)Range.Count));
        writer.WriteUInt64(Token);
    }

    public static ReservationGrant Read(ref FrameReader reader)
    {
        var grant = new ReservationGrant(reader.ReadProtocol(), new PortRange(reader.ReadUInt16(), reader.ReadUInt16()), reader.ReadUInt64());
        reader.EnsureEnd();
        if (!grant.Range.IsValid || grant.Token == 0)
        {
            throw new ProtocolException($"grant of block {grant.Range} with token {grant.Token} is not valid");
        }

        return grant;
    }
}
