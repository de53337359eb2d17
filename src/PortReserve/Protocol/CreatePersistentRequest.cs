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
        WriteNames(ref writer, AllowUsers);
        WriteNames(ref writer, AllowGroups);
    }

    public static CreatePersistentRequest Read(ref FrameReader reader)
    {
        var block = new BlockRequest(reader.ReadProtocol(), reader.ReadUInt16(), reader.ReadUInt16());
        var request = new CreatePersistentRequest(block, ReadNames(ref reader), ReadNames(ref reader));
        reader.EnsureEnd();
        return request;
    }

    private static void WriteNames(ref FrameWriter writer, IReadOnlyList<string> names)
    {
        writer.WriteByte(checked((byte)names.Count));
        foreach (string name in names)
        {
            writer.WriteString(name);
        }
    }

    private static string[] ReadNames(ref FrameReader reader)
    {
        int count = reader.ReadByte();
        if (count > MaxConsumers)
        {
            throw new ProtocolException($"{count} consumers exceed the limit of {MaxConsumers}");
        }

        var names = new string[count];
        for (int i = 0; i < count; i++)
        {
            names[i] = reader.ReadString();
        }

        return names;
    }
}
