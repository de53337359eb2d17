namespace PortReserve.Protocol;

/// <summary>A request with no body (status).</summary>
internal readonly record struct EmptyRequest : IRequestPayload
{
    public void Write(ref FrameWriter writer)
    {
    }
}
