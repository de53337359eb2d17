namespace PortReserve.Protocol;

/// <summary>
/// The fixed 8-byte header of every frame: version, message type, flags, status (the error kind of a reply, 0 for
/// success and in requests) and a request id chosen by the client so that it can pipeline requests.
/// </summary>
internal readonly record struct FrameHeader(MessageType Type, FrameFlags Flags, byte Status, uint RequestId)
{
    public const byte CurrentVersion = 1;
    public const int Size = 8;

    /// <summary>The largest request frame the daemon accepts, header included: requests are small.</summary>
    public const int MaxRequestSize = 4096;

    /// <summary>The largest frame either side sends or accepts, header included.</summary>
    public const int MaxFrameSize = 64 * 1024;

    public bool IsReply => ((byte)Type & (byte)MessageType.ReplyBit) != 0;

    public MessageType Operation => (MessageType)((byte)Type & ~(byte)MessageType.ReplyBit);

    public PortReservationErrorKind? Error => Status == 0 ? null : (PortReservationErrorKind)Status;

    public void Write(Span<byte> destination)
    {
        destination[0] = CurrentVersion;
        destination[1] = (byte)Type;
        destination[2] = (byte)Flags;
        destination[3] = Status;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], RequestId);
    }

    /// <summary>Decodes a header, rejecting unknown versions, types, flags and statuses.</summary>
    public static FrameHeader Read(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < Size)
        {
            throw new ProtocolException($"frame of {frame.Length} bytes is shorter than the {Size}-byte header");
        }

        if (frame[0] != CurrentVersion)
        {
            throw new ProtocolException($"protocol version {frame[0]} is not supported (this side speaks version {CurrentVersion})");
        }

        var type = (MessageType)frame[1];
        var operation = (MessageType)(frame[1] & ~(byte)MessageType.ReplyBit);
        if (operation is < MessageType.Acquire or > MessageType.Reattach)
        {
            throw new ProtocolException($"unknown message type {frame[1]}");
        }

        var flags = (FrameFlags)frame[2];
        if ((flags & ~FrameFlags.More) != 0)
        {
            throw new ProtocolException($"unknown frame flags 0x{frame[2]:x2}");
        }

        byte status = frame[3];
        if (status > (byte)PortReservationErrorKind.Aborted)
        {
            throw new ProtocolException($"unknown status {status}");
        }

        return new FrameHeader(type, flags, status, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]));
    }
}
