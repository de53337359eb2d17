namespace PortReserve.Protocol;

/// <summary>List reservations, optionally of one protocol.</summary>
internal readonly record struct ShowRequest(PortReservationProtocol? Protocol) : IRequestPayload
{
    public void Write(ref FrameWriter writer) => writer.WriteByte((byte)(Protocol ?? 0));

    public static ShowRequest Read(ref FrameReader reader)
    {
        var request = new ShowRequest(reader.ReadOptionalProtocol());
        reader.EnsureEnd();
        return request;
    }
}
