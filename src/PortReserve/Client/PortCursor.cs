using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>Hands out the ports of a block in rotation, so successive binds from the block rarely collide.</summary>
internal sealed class PortCursor(PortRange range)
{
    private int _next = -1;

    public PortRange Range { get; } = range;

    public int Next()
    {
        int offset = (int)((uint)Interlocked.Increment(ref _next) % (uint)Range.Count);
        return Range.Start + offset;
    }
}
