namespace PortReserve.Protocol;

/// <summary>What <c>portreserve status</c> shows: identity, uptime, kernel sync and counts.</summary>
internal sealed record StatusReply(
    string Version,
    long UptimeMilliseconds,
    string KernelSyncMode,
    bool KernelSyncActive,
    string KernelSyncDetail,
    ReservationCounts Counts,
    int Connections,
    PortRange WildcardRange,
    string SocketPath,
    string StateDirectory)
{
    /// <summary>Whether the kernel list held exactly the table's ports when asked; null when sync is off.</summary>
    public bool? KernelListMatches { get; init; }

    /// <summary>The longest run of TCP ports free for a wildcard request (ports bound by sockets not counted).</summary>
    public int LargestFreeTcpBlock { get; init; }

    /// <summary>The longest run of UDP ports free for a wildcard request (ports bound by sockets not counted).</summary>
    public int LargestFreeUdpBlock { get; init; }

    public int MaxRuntimePortsPerUid { get; init; }

    public int MaxRuntimeReservationsPerUid { get; init; }

    public string PortServerAddress { get; init; } = string.Empty;

    public string MetricsAddress { get; init; } = string.Empty;

    /// <summary>The exclusive binds setting: auto, on or off.</summary>
    public string ExclusiveBindsMode { get; init; } = "off";

    /// <summary>True when binds to reserved ports are refused to all but their holders.</summary>
    public bool ExclusiveBindsActive { get; init; }

    /// <summary>A sentence on exclusive binds (where the hooks are, or why they are off).</summary>
    public string ExclusiveBindsDetail { get; init; } = string.Empty;

    /// <summary>The reservations.d directories the daemon reads, in order.</summary>
    public IReadOnlyList<string> ConfigDirectories { get; init; } = [];

    /// <summary>How many persistent reservations come from reservations.d files.</summary>
    public int DeclaredReservations { get; init; }

    /// <summary>The first declared reservations, each as "TCP 8080 at FILE:LINE" (at most <see cref="MaxListed"/>).</summary>
    public IReadOnlyList<string> DeclaredSources { get; init; } = [];

    /// <summary>How many lines the last application of the files skipped.</summary>
    public int DeclarationProblemCount { get; init; }

    /// <summary>The first of those problems, each as "FILE:LINE: reason" (at most <see cref="MaxListed"/>).</summary>
    public IReadOnlyList<string> DeclarationProblems { get; init; } = [];

    /// <summary>Binds the hook refused since the daemon started (as reported; a flood beyond the report ring is not counted).</summary>
    public long RefusedBinds { get; init; }

    /// <summary>The last refused binds, oldest first, each as "TCP port 443 by pid 1234 (nginx) uid 33".</summary>
    public IReadOnlyList<string> RecentRefusedBinds { get; init; } = [];

    /// <summary>The most declared reservations and problems a status lists; show and reload list them all.</summary>
    public const int MaxListed = 10;

    public void Write(ref FrameWriter writer)
    {
        writer.WriteString(Version);
        writer.WriteUInt64(checked((ulong)UptimeMilliseconds));
        writer.WriteString(KernelSyncMode);
        writer.WriteByte(KernelSyncActive ? (byte)1 : (byte)0);
        writer.WriteString(KernelSyncDetail);
        writer.WriteInt32(Counts.Runtime);
        writer.WriteInt32(Counts.Persistent);
        writer.WriteInt32(Counts.SystemRanges);
        writer.WriteInt32(Connections);
        writer.WriteUInt16(checked((ushort)WildcardRange.Start));
        writer.WriteUInt16(checked((ushort)WildcardRange.Count));
        writer.WriteString(SocketPath);
        writer.WriteString(StateDirectory);
        writer.WriteByte(KernelListMatches switch { null => 0, true => 1, false => 2 });
        writer.WriteInt32(Counts.RuntimeTcp);
        writer.WriteInt32(Counts.RuntimeUdp);
        writer.WriteInt32(Counts.PersistentTcp);
        writer.WriteInt32(Counts.PersistentUdp);
        writer.WriteInt32(LargestFreeTcpBlock);
        writer.WriteInt32(LargestFreeUdpBlock);
        writer.WriteInt32(MaxRuntimePortsPerUid);
        writer.WriteInt32(MaxRuntimeReservationsPerUid);
        writer.WriteString(PortServerAddress);
        writer.WriteString(MetricsAddress);
        writer.WriteString(ExclusiveBindsMode);
        writer.WriteByte(ExclusiveBindsActive ? (byte)1 : (byte)0);
        writer.WriteString(ExclusiveBindsDetail);
        writer.WriteStringList([.. ConfigDirectories.Take(MaxListed)]);
        writer.WriteInt32(DeclaredReservations);
        writer.WriteStringList([.. DeclaredSources.Take(MaxListed)]);
        writer.WriteInt32(DeclarationProblemCount);
        writer.WriteStringList([.. DeclarationProblems.Take(MaxListed)]);
        writer.WriteUInt64((ulong)Math.Max(RefusedBinds, 0));
        writer.WriteStringList([.. RecentRefusedBinds.Take(MaxListed)]);
    }

    public static StatusReply Read(ref FrameReader reader)
    {
        (string version, ulong uptime, string mode, bool active, string detail) = (reader.ReadString(), reader.ReadUInt64(), reader.ReadString(), reader.ReadByte() != 0, reader.ReadString());

        // The totals precede the per-protocol counts on the wire; the per-protocol ones are what is kept.
        (int runtime, int persistent, int system, int connections) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        var wildcard = new PortRange(reader.ReadUInt16(), reader.ReadUInt16());
        (string socketPath, string stateDirectory) = (reader.ReadString(), reader.ReadString());
        bool? matches = reader.ReadByte() switch { 0 => null, 1 => true, 2 => false, var b => throw new ProtocolException($"unknown kernel list state {b}") };
        var counts = new ReservationCounts(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), system);
        if ((long)counts.RuntimeTcp + counts.RuntimeUdp != runtime || (long)counts.PersistentTcp + counts.PersistentUdp != persistent)
        {
            throw new ProtocolException($"status counts disagree: {runtime} runtime and {persistent} persistent in all, {counts} by protocol");
        }

        var reply = new StatusReply(version, (long)Math.Min(uptime, long.MaxValue), mode, active, detail, counts, connections, wildcard, socketPath, stateDirectory)
        {
            KernelListMatches = matches,
            LargestFreeTcpBlock = reader.ReadInt32(),
            LargestFreeUdpBlock = reader.ReadInt32(),
            MaxRuntimePortsPerUid = reader.ReadInt32(),
            MaxRuntimeReservationsPerUid = reader.ReadInt32(),
            PortServerAddress = reader.ReadString(),
            MetricsAddress = reader.ReadString(),
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
        return reply;
    }
}
