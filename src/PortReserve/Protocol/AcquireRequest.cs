namespace PortReserve.Protocol;

/// <summary>Acquire a runtime reservation: <c>Start == 0</c> asks the daemon to choose the block (wildcard).</summary>
internal readonly record struct AcquireRequest(PortReservationProtocol Protocol, int Start, int Count) : IRequestPayload
{
    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteUInt16(checked((ushort)Start));
        writer.WriteUInt16(checked((ushort)Count));
    }

    public static AcquireRequest Read(ref FrameReader reader)
    {
        var request = new AcquireRequest(reader.ReadProtocol(), reader.ReadUInt16(), reader.ReadUInt16());
        reader.EnsureEnd();
        return request;
    }
}
