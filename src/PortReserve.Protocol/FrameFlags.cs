namespace PortReserve.Protocol;

[Flags]
internal enum FrameFlags : byte
{
    None = 0,

    /// <summary>More reply frames for the same request follow (used by listings larger than one frame).</summary>
    More = 1,
}
