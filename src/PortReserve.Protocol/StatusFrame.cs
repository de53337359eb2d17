namespace PortReserve.Protocol;

/// <summary>
/// <see cref="PortReserveStatus"/> on the wire: the daemon fills the one record the library returns, and this is the
/// only place its fields meet bytes. The order is the protocol's; fields added later go at the end.
/// </summary>
internal static class StatusFrame
{
    /// <summary>The most declared reservations, problems and refused binds a status lists; show and reload list them all.</summary>
    public const int MaxListed = 10;

    public static void Write(ref FrameWriter writer, PortReserveStatus status)
    {
        writer.WriteString(status.Version);
        writer.WriteUInt64(checked((ulong)(long)status.Uptime.TotalMilliseconds));
        writer.WriteString(status.KernelSyncMode);
        writer.WriteByte(status.KernelSyncActive ? (byte)1 : (byte)0);
        writer.WriteString(status.KernelSyncDetail);
        writer.WriteInt32(status.RuntimeReservations);
        writer.WriteInt32(status.PersistentReservations);
        writer.WriteInt32(status.SystemExclusions);
        writer.WriteInt32(status.Connections);
        writer.WriteUInt16(checked((ushort)status.WildcardStartPort));
        writer.WriteUInt16(checked((ushort)(status.WildcardEndPort - status.WildcardStartPort + 1)));
        writer.WriteString(status.SocketPath);
        writer.WriteString(status.StateDirectory);
        writer.WriteByte(status.KernelListMatches switch { null => 0, true => 1, false => 2 });
        writer.WriteInt32(status.RuntimeTcpReservations);
        writer.WriteInt32(status.RuntimeUdpReservations);
        writer.WriteInt32(status.PersistentTcpReservations);
        writer.WriteInt32(status.PersistentUdpReservations);
        writer.WriteInt32(status.LargestFreeTcpBlock);
        writer.WriteInt32(status.LargestFreeUdpBlock);
        writer.WriteInt32(status.MaxRuntimePortsPerUid);
        writer.WriteInt32(status.MaxRuntimeReservationsPerUid);
        writer.WriteString(status.PortServerAddress ?? string.Empty);
        writer.WriteString(status.MetricsAddress ?? string.Empty);
        writer.WriteString(status.ExclusiveBindsMode);
        writer.WriteByte(status.ExclusiveBindsActive ? (byte)1 : (byte)0);
        writer.WriteString(status.ExclusiveBindsDetail);
        writer.WriteStringList([.. status.ConfigDirectories.Take(MaxListed)]);
        writer.WriteInt32(status.DeclaredReservations);
        writer.WriteStringList([.. status.DeclaredSources.Take(MaxListed)]);
        writer.WriteInt32(status.DeclarationProblemCount);
        writer.WriteStringList([.. status.DeclarationProblems.Take(MaxListed)]);
        writer.WriteUInt64((ulong)Math.Max(status.RefusedBinds, 0));
        writer.WriteStringList([.. status.RecentRefusedBinds.Take(MaxListed)]);
    }

    public static PortReserveStatus Read(ref FrameReader reader)
    {
        (string version, ulong uptime, string mode, bool active, string detail) = (reader.ReadString(), reader.ReadUInt64(), reader.ReadString(), reader.ReadByte() != 0, reader.ReadString());
        (int runtime, int persistent, int system, int connections) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        var wildcard = new PortRange(reader.ReadUInt16(), reader.ReadUInt16());
        (string socketPath, string stateDirectory) = (reader.ReadString(), reader.ReadString());
        bool? matches = reader.ReadByte() switch { 0 => null, 1 => true, 2 => false, var b => throw new ProtocolException($"unknown kernel list state {b}") };
        var counts = new ReservationCounts(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), system);

        // The totals precede the per-protocol counts on the wire, and must be their sums.
        if ((long)counts.RuntimeTcp + counts.RuntimeUdp != runtime || (long)counts.PersistentTcp + counts.PersistentUdp != persistent)
        {
            throw new ProtocolException($"status counts disagree: {runtime} runtime and {persistent} persistent in all, {counts} by protocol");
        }

        var status = new PortReserveStatus
        {
            Version = version,
            Uptime = TimeSpan.FromMilliseconds((long)Math.Min(uptime, long.MaxValue)),
            KernelSyncMode = mode,
            KernelSyncActive = active,
            KernelSyncDetail = detail,
            RuntimeReservations = counts.Runtime,
            PersistentReservations = counts.Persistent,
            SystemExclusions = counts.SystemRanges,
            Connections = connections,
            WildcardStartPort = wildcard.Start,
            WildcardEndPort = wildcard.End,
            SocketPath = socketPath,
            StateDirectory = stateDirectory,
            KernelListMatches = matches,
            RuntimeTcpReservations = counts.RuntimeTcp,
            RuntimeUdpReservations = counts.RuntimeUdp,
            PersistentTcpReservations = counts.PersistentTcp,
            PersistentUdpReservations = counts.PersistentUdp,
            LargestFreeTcpBlock = reader.ReadInt32(),
            LargestFreeUdpBlock = reader.ReadInt32(),
            MaxRuntimePortsPerUid = reader.ReadInt32(),
            MaxRuntimeReservationsPerUid = reader.ReadInt32(),
            PortServerAddress = NullIfEmpty(reader.ReadString()),
            MetricsAddress = NullIfEmpty(reader.ReadString()),
            ExclusiveBindsMode = reader.ReadString(),
            ExclusiveBindsActive = reader.ReadByte() != 0,
            ExclusiveBindsDetail = reader.ReadString(),
            ConfigDirectories = reader.ReadStringList(MaxListed),
            DeclaredReservations = reader.ReadInt32(),
            DeclaredSources = reader.ReadStringList(MaxListed),
            DeclarationProblemCount = reader.ReadInt32(),
            DeclarationProblems = reader.ReadStringList(MaxListed),
            RefusedBinds = (long)Math.Min(reader.ReadUInt64(), long.MaxValue),
            RecentRefusedBinds = reader.ReadStringList(MaxListed),
        };
        reader.EnsureEnd();
        return status;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
