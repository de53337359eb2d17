namespace PortReserve.Protocol;

/// <summary>What <c>portreserve status</c> shows: identity, uptime, kernel sync and counts.</summary>
internal sealed record StatusReply(
    string Version,
    long UptimeMilliseconds,
    string KernelSyncMode,
    bool KernelSyncActive,
    string KernelSyncDetail,
    int RuntimeReservations,
    int PersistentReservations,
    int SystemExclusions,
    int Connections,
    PortRange WildcardRange,
    string SocketPath,
    string StateDirectory)
{
    /// <summary>Whether the kernel list held exactly the table's ports when asked; null when sync is off.</summary>
    public bool? KernelListMatches { get; init; }

    /// <summary>Runtime and persistent reservations per protocol: TCP runtime, UDP runtime, TCP persistent, UDP persistent.</summary>
    public int[] CountsByProtocol { get; init; } = new int[4];

    /// <summary>The longest run of ports free for a wildcard request, TCP then UDP (ports bound by sockets not counted).</summary>
    public int[] LargestFreeBlock { get; init; } = new int[2];

    public int MaxRuntimePortsPerUid { get; init; }

    public int MaxRuntimeReservationsPerUid { get; init; }

    public string PortServerAddress { get; init; } = string.Empty;

    public string MetricsAddress { get; init; } = string.Empty;

    public void Write(ref FrameWriter writer)
    {
        writer.WriteString(Version);
        writer.WriteUInt64(checked((ulong)UptimeMilliseconds));
        writer.WriteString(KernelSyncMode);
        writer.WriteByte(KernelSyncActive ? (byte)1 : (byte)0);
        writer.WriteString(KernelSyncDetail);
        writer.WriteInt32(RuntimeReservations);
        writer.WriteInt32(PersistentReservations);
        writer.WriteInt32(SystemExclusions);
        writer.WriteInt32(Connections);
        writer.WriteUInt16(checked((ushort)WildcardRange.Start));
        writer.WriteUInt16(checked((ushort)WildcardRange.Count));
        writer.WriteString(SocketPath);
        writer.WriteString(StateDirectory);
        writer.WriteByte(KernelListMatches switch { null => 0, true => 1, false => 2 });
        foreach (int count in CountsByProtocol.Concat(LargestFreeBlock))
        {
            writer.WriteInt32(count);
        }

        writer.WriteInt32(MaxRuntimePortsPerUid);
        writer.WriteInt32(MaxRuntimeReservationsPerUid);
        writer.WriteString(PortServerAddress);
        writer.WriteString(MetricsAddress);
    }

    public static StatusReply Read(ref FrameReader reader)
    {
        var reply = new StatusReply(
            reader.ReadString(),
            (long)Math.Min(reader.ReadUInt64(), long.MaxValue),
            reader.ReadString(),
            reader.ReadByte() != 0,
            reader.ReadString(),
            reader.ReadInt32(),
            reader.ReadInt32(),
            reader.ReadInt32(),
            reader.ReadInt32(),
            new PortRange(reader.ReadUInt16(), reader.ReadUInt16()),
            reader.ReadString(),
            reader.ReadString())
        {
            KernelListMatches = reader.ReadByte() switch { 0 => null, 1 => true, 2 => false, var b => throw new ProtocolException($"unknown kernel list state {b}") },
            CountsByProtocol = [reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32()],
            LargestFreeBlock = [reader.ReadInt32(), reader.ReadInt32()],
            MaxRuntimePortsPerUid = reader.ReadInt32(),
            MaxRuntimeReservationsPerUid = reader.ReadInt32(),
            PortServerAddress = reader.ReadString(),
            MetricsAddress = reader.ReadString(),
        };
        reader.EnsureEnd();
        return reply;
    }
}
