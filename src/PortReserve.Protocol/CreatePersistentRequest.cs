namespace PortReserve.Protocol;

/// <summary>
/// Create a persistent reservation of exactly <see cref="Block"/>, optionally naming the users and groups (names or
/// numeric ids) that may consume it without being administrators.
/// </summary>
internal sealed record CreatePersistentRequest(PortBlock Block, IReadOnlyList<string> AllowUsers, IReadOnlyList<string> AllowGroups) : IRequestPayload
{
    public const int MaxConsumers = 32;

    public void Write(ref FrameWriter writer)
    {
        Block.Write(ref writer);
        writer.WriteStringList(AllowUsers);
        writer.WriteStringList(AllowGroups);
    }

    public static CreatePersistentRequest Read(ref FrameReader reader)
    {
        var request = new CreatePersistentRequest(PortBlock.ReadFields(ref reader), reader.ReadStringList(MaxConsumers), reader.ReadStringList(MaxConsumers));
        reader.EnsureEnd();
        return request;
    }
}
