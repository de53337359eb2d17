namespace PortReserve.Protocol;

/// <summary>The block and token of a reservation the daemon granted (or of a persistent one looked up).</summary>
internal readonly record struct ReservationGrant(PortBlock Block, ulong Token)
{
    public void Write(ref FrameWriter writer)
    {
        Block.Write(ref writer);
        writer.WriteUInt64(Token);
    }

    public static ReservationGrant Read(ref FrameReader reader)
    {
        var grant = new ReservationGrant(PortBlock.ReadFields(ref reader), reader.ReadUInt64());
        reader.EnsureEnd();
        if (!grant.Block.Range.IsValid || grant.Token == 0)
        {
            throw new ProtocolException($"grant of block {grant.Block.Range} with token {grant.Token} is not valid");
        }

        return grant;
    }
}
