namespace PortReserve.Protocol;

/// <summary>A request body that writes itself after the frame header.</summary>
internal interface IRequestPayload
{
    void Write(ref FrameWriter writer);
}
