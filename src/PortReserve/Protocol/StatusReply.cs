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
            reader.ReadString());
        reader.EnsureEnd();
        return reply;
    }
}
