namespace PortReserve.Protocol;

/// <summary>
/// A block of one protocol: the body of acquire (<c>Start == 0</c> asks the daemon to choose the block), and of
/// persistent lookup and delete, which name the exact block given at creation.
/// </summary>
internal readonly record struct BlockRequest(PortReservationProtocol Protocol, int Start, int Count) : IRequestPayload
{
    public void Write(ref FrameWriter writer)
    {
        writer.WriteByte((byte)Protocol);
        writer.WriteUInt16(checked((ushort)Start));
        writer.WriteUInt16(checked((ushort)Count));
    }

    /// <summary>Reads a block that must be the whole frame body.</summary>
    public static BlockRequest Read(ref FrameReader reader)
    {
        var request = new BlockRequest(reader.ReadProtocol(), reader.ReadUInt16(), reader.ReadUInt16());
        reader.EnsureEnd();
        return request;
    }
}
