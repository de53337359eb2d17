namespace PortReserve.Protocol;

/// <summary>
/// Create a persistent reservation of exactly <see cref="Block"/>, optionally naming the users and groups (names or
/// numeric ids) that may consume it without being administrators.
/// </summary>
internal sealed record CreatePersistentRequest(BlockRequest Block, IReadOnlyList<string> AllowUsers, IReadOnlyList<string> AllowGroups) : IRequestPayload
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
        var block = new BlockRequest(reader.ReadProtocol(), reader.ReadUInt16(), reader.ReadUInt16());
        var request = new CreatePersistentRequest(block, reader.ReadStringList(CreatePersistentRequest.MaxConsumers), reader.ReadStringList(CreatePersistentRequest.MaxConsumers));
        reader.EnsureEnd();
        return request;
    }
}
