using PortReserve.Daemon.Core;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>What the daemon tells about itself and its reservations: status, and the listing <c>show</c> prints.</summary>
internal sealed class StatusReporter(
    DaemonIdentity identity, ReservationLedger ledger, ReservedPortsSink kernel, ExclusiveBindsSink exclusive, ConnectionLimits connections, DeclaredReservations declared)
{
    public PortReserveStatus Status()
    {
        var all = new PortSet();
        var reserved = new PortSet();
        ReloadReply? applied = declared.Last;
        TableFacts table = ledger.Read(view =>
        {
            view.CopyKernelPorts(all, reserved);
            return new TableFacts(
                view.Counts,
                view.WildcardRange,
                view.LargestFreeWildcardBlock(PortReservationProtocol.Tcp),
                view.LargestFreeWildcardBlock(PortReservationProtocol.Udp),
                view.Quotas,
                [.. view.Reservations.Where(r => r.Source is not null).OrderBy(r => r.Block.Protocol).ThenBy(r => r.Block.Range.Start)]);
        });

        return new PortReserveStatus
        {
            Version = identity.Version,
            Uptime = identity.Uptime,
            KernelSyncMode = kernel.Mode.ToString().ToLowerInvariant(),
            KernelSyncActive = kernel.IsActive,
            KernelSyncDetail = kernel.Detail,
            RuntimeReservations = table.Counts.Runtime,
            PersistentReservations = table.Counts.Persistent,
            SystemExclusions = table.Counts.SystemRanges,
            RuntimeTcpReservations = table.Counts.RuntimeTcp,
            RuntimeUdpReservations = table.Counts.RuntimeUdp,
            PersistentTcpReservations = table.Counts.PersistentTcp,
            PersistentUdpReservations = table.Counts.PersistentUdp,
            Connections = connections.Open,
            WildcardStartPort = table.WildcardRange.Start,
            WildcardEndPort = table.WildcardRange.End,
            SocketPath = identity.SocketPath,
            StateDirectory = identity.StateDirectory,

            // Read outside the lock; a write racing with this read can show a passing difference.
            KernelListMatches = kernel.KernelListEquals(all),
            LargestFreeTcpBlock = table.LargestFreeTcpBlock,
            LargestFreeUdpBlock = table.LargestFreeUdpBlock,
            MaxRuntimePortsPerUid = table.Quotas.MaxRuntimePortsPerUid,
            MaxRuntimeReservationsPerUid = table.Quotas.MaxRuntimeReservationsPerUid,
            PortServerAddress = identity.PortServerAddress,
            MetricsAddress = identity.MetricsAddress,
            ExclusiveBindsMode = exclusive.Mode.ToString().ToLowerInvariant(),
            ExclusiveBindsActive = exclusive.IsActive,
            ExclusiveBindsDetail = exclusive.Detail,
            ConfigDirectories = declared.Directories,
            DeclaredReservations = table.FromFiles.Count,
            DeclaredSources = [.. table.FromFiles.Take(StatusFrame.MaxListed).Select(r => $"{r.Block} at {ShortSource(r.Source!)}")],
            DeclarationProblemCount = applied?.TotalProblems ?? 0,
            DeclarationProblems = [.. (applied?.Problems ?? []).Take(StatusFrame.MaxListed).Select(p => new Declarations.DeclarationProblem(p.File, p.Line, p.Reason).ToString())],
            RefusedBinds = exclusive.Refusals?.Count ?? 0,
            RecentRefusedBinds = exclusive.Refusals?.Recent ?? [],
        };
    }

    /// <summary>The listing a caller sees, in protocol and port order: tokens only where the caller may use them.</summary>
    public List<ReservationEntry> Show(PortReservationProtocol? protocol, Principal requester)
    {
        List<ReservationEntry> entries = ledger.Read(view =>
        {
            var listed = new List<ReservationEntry>();
            foreach (Reservation r in view.Reservations)
            {
                if (protocol is null || r.Block.Protocol == protocol)
                {
                    listed.Add(new ReservationEntry(
                        r.Block, r.Kind, r.Owner?.Principal.Pid ?? 0, r.Owner?.Principal.Uid ?? ReservationEntry.NoUid, r.MayBeUsedBy(requester) ? r.Token : 0,
                        [.. r.Consumers?.Users.Select(u => u.ToString()) ?? []], [.. r.Consumers?.Groups.Select(g => g.ToString()) ?? []],
                        r.Source is { } source ? ShortSource(source) : string.Empty));
                }
            }

            // A system exclusion applies to both protocols and is listed under each.
            foreach (PortRange range in view.SystemExclusions)
            {
                foreach (PortReservationProtocol p in (PortReservationProtocol[])[PortReservationProtocol.Tcp, PortReservationProtocol.Udp])
                {
                    if (protocol is null || protocol == p)
                    {
                        listed.Add(new ReservationEntry(new PortBlock(p, range), PortReservationKind.System, 0, ReservationEntry.NoUid, 0, [], []));
                    }
                }
            }

            return listed;
        });

        entries.Sort((a, b) => a.Block.Protocol != b.Block.Protocol ? a.Block.Protocol.CompareTo(b.Block.Protocol) : a.Block.Range.Start.CompareTo(b.Block.Range.Start));
        return entries;
    }

    /// <summary>A source as the wire carries it: a path too long for a protocol string loses its head, never its line number.</summary>
    private static string ShortSource(string source)
        => System.Text.Encoding.UTF8.GetByteCount(source) <= FrameReader.MaxStringBytes - 64 ? source : "..." + source[^((FrameReader.MaxStringBytes - 64) / 4)..];

    /// <summary>What the status takes from the table, read under its lock in one go.</summary>
    private sealed record TableFacts(ReservationCounts Counts, PortRange WildcardRange, int LargestFreeTcpBlock, int LargestFreeUdpBlock, QuotaPolicy Quotas, List<Reservation> FromFiles);
}
