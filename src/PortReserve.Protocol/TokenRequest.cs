namespace PortReserve.Protocol;

/// <summary>A request naming a reservation by token (release, associate) and the protocol of the caller's socket, if any.</summary>
internal readonly record struct TokenRequest(ulong Token, PortReservationProtocol? Protocol) : IRequestPayload
{
    public void Write(ref FrameWriter writer)
    {
        writer.WriteUInt64(Token);
        writer.WriteByte((byte)(Protocol ?? 0));
    }

    public static TokenRequest Read(ref FrameReader reader)
    {
        var request = new TokenRequest(reader.ReadUInt64(), reader.ReadOptionalProtocol());
        reader.EnsureEnd();
        return request;
    }
}
