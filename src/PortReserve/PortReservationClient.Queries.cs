using PortReserve.Protocol;

namespace PortReserve;

public sealed partial class PortReservationClient
{
    /// <summary>Lists every reservation the daemon holds, like <c>netsh int ipv4 show excludedportrange</c>.</summary>
    /// <param name="protocol">Only this protocol's blocks; null for both.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>The blocks in protocol and port order. Tokens are shown only where the caller may use them.</returns>
    public async ValueTask<IReadOnlyList<PortReservationInfo>> ShowAsync(PortReservationProtocol? protocol = null, CancellationToken cancellationToken = default)
    {
        Reply reply = (await _reconnector.RequestAsync(MessageType.Show, new ShowRequest(protocol), cancellationToken).ConfigureAwait(false)).ThrowIfError();
        var listing = new List<PortReservationInfo>();
        foreach (byte[] payload in reply.Payloads)
        {
            ReadListingFrame(payload, listing);
        }

        return listing;
    }

    /// <summary>Reads the daemon's version, uptime, kernel sync state and counts.</summary>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>The daemon's status.</returns>
    public async ValueTask<PortReserveStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        Reply reply = (await _reconnector.RequestAsync(MessageType.Status, default(EmptyRequest), cancellationToken).ConfigureAwait(false)).ThrowIfError();
        var reader = new FrameReader(reply.Single);
        StatusReply status = StatusReply.Read(ref reader);
        return new PortReserveStatus
        {
            Version = status.Version,
            Uptime = TimeSpan.FromMilliseconds(status.UptimeMilliseconds),
            KernelSyncMode = status.KernelSyncMode,
            KernelSyncActive = status.KernelSyncActive,
            KernelSyncDetail = status.KernelSyncDetail,
            RuntimeReservations = status.Counts.Runtime,
            PersistentReservations = status.Counts.Persistent,
            SystemExclusions = status.Counts.SystemRanges,
            Connections = status.Connections,
            WildcardStartPort = status.WildcardRange.Start,
            WildcardEndPort = status.WildcardRange.End,
            SocketPath = status.SocketPath,
            StateDirectory = status.StateDirectory,
            KernelListMatches = status.KernelListMatches,
            RuntimeTcpReservations = status.Counts.RuntimeTcp,
            RuntimeUdpReservations = status.Counts.RuntimeUdp,
            PersistentTcpReservations = status.Counts.PersistentTcp,
            PersistentUdpReservations = status.Counts.PersistentUdp,
            LargestFreeTcpBlock = status.LargestFreeTcpBlock,
            LargestFreeUdpBlock = status.LargestFreeUdpBlock,
            MaxRuntimePortsPerUid = status.MaxRuntimePortsPerUid,
            MaxRuntimeReservationsPerUid = status.MaxRuntimeReservationsPerUid,
            PortServerAddress = status.PortServerAddress.Length == 0 ? null : status.PortServerAddress,
            MetricsAddress = status.MetricsAddress.Length == 0 ? null : status.MetricsAddress,
            ExclusiveBindsMode = status.ExclusiveBindsMode,
            ExclusiveBindsActive = status.ExclusiveBindsActive,
            ExclusiveBindsDetail = status.ExclusiveBindsDetail,
            ConfigDirectories = status.ConfigDirectories,
            DeclaredReservations = status.DeclaredReservations,
            DeclaredSources = status.DeclaredSources,
            DeclarationProblemCount = status.DeclarationProblemCount,
            DeclarationProblems = status.DeclarationProblems,
            RefusedBinds = status.RefusedBinds,
            RecentRefusedBinds = status.RecentRefusedBinds,
        };
    }

    private static void ReadListingFrame(byte[] payload, List<PortReservationInfo> listing)
    {
        var reader = new FrameReader(payload);
        int count = reader.ReadUInt16();
        for (int i = 0; i < count; i++)
        {
            ReservationEntry entry = ReservationEntry.Read(ref reader);
            listing.Add(new PortReservationInfo
            {
                Protocol = entry.Block.Protocol,
                StartPort = entry.Block.Range.Start,
                Count = entry.Block.Range.Count,
                Kind = entry.Kind,
                OwnerPid = entry.OwnerPid == 0 ? null : entry.OwnerPid,
                OwnerUid = entry.OwnerUid == ReservationEntry.NoUid ? null : entry.OwnerUid,
                Token = entry.Token == 0 ? null : entry.Token,
                AllowedUsers = entry.AllowedUsers,
                AllowedGroups = entry.AllowedGroups,
                Source = entry.Source.Length == 0 ? null : entry.Source,
            });
        }

        reader.EnsureEnd();
    }
}
