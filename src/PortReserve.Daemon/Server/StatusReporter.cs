using PortReserve.Daemon.Core;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>What the daemon tells about itself and its reservations: status, and the listing <c>show</c> prints.</summary>
internal sealed class StatusReporter(
    DaemonIdentity identity, ReservationLedger ledger, ReservedPortsSink kernel, ExclusiveBindsSink exclusive, ConnectionLimits connections, DeclaredReservations declared)
{
    public StatusReply Status()
    {
        var all = new PortSet();
        var reserved = new PortSet();
        ReloadReply? applied = declared.Last;
        StatusReply reply = ledger.Read(view =>
        {
            view.CopyKernelPorts(all, reserved);
            List<Reservation> fromFiles = [.. view.Reservations.Where(r => r.Source is not null).OrderBy(r => r.Block.Protocol).ThenBy(r => r.Block.Range.Start)];
            return new StatusReply(
                identity.Version,
                (long)identity.Uptime.TotalMilliseconds,
                kernel.Mode.ToString().ToLowerInvariant(),
                kernel.IsActive,
                kernel.Detail,
                view.Counts,
                connections.Open,
                view.WildcardRange,
                identity.SocketPath,
                identity.StateDirectory)
            {
                LargestFreeTcpBlock = view.LargestFreeWildcardBlock(PortReservationProtocol.Tcp),
                LargestFreeUdpBlock = view.LargestFreeWildcardBlock(PortReservationProtocol.Udp),
                MaxRuntimePortsPerUid = view.Quotas.MaxRuntimePortsPerUid,
                MaxRuntimeReservationsPerUid = view.Quotas.MaxRuntimeReservationsPerUid,
                PortServerAddress = identity.PortServerAddress ?? string.Empty,
                MetricsAddress = identity.MetricsAddress ?? string.Empty,
                ExclusiveBindsMode = exclusive.Mode.ToString().ToLowerInvariant(),
                ExclusiveBindsActive = exclusive.IsActive,
                ExclusiveBindsDetail = exclusive.Detail,
                ConfigDirectories = declared.Directories,
                DeclaredReservations = fromFiles.Count,
                DeclaredSources = [.. fromFiles.Take(StatusReply.MaxListed).Select(r => $"{r.Block} at {ShortSource(r.Source!)}")],
                DeclarationProblemCount = applied?.TotalProblems ?? 0,
                DeclarationProblems = [.. (applied?.Problems ?? []).Take(StatusReply.MaxListed).Select(p => new Declarations.DeclarationProblem(p.File, p.Line, p.Reason).ToString())],
                RefusedBinds = exclusive.Refusals?.Count ?? 0,
                RecentRefusedBinds = exclusive.Refusals?.Recent ?? [],
            };
        });

        // Read outside the lock; a write racing with this read can show a passing difference.
        return reply with { KernelListMatches = kernel.KernelListEquals(all) };
    }

    /// <summary>The listing a caller sees, in protocol and port order: tokens only where the caller may use them.</summary>
    public List<ReservationEntry> Show(PortReservationProtocol? protocol, Requester requester)
    {
        List<ReservationEntry> entries = ledger.Read(view =>
        {
            var listed = new List<ReservationEntry>();
            foreach (Reservation r in view.Reservations)
            {
                if (protocol is null || r.Block.Protocol == protocol)
                {
                    listed.Add(new ReservationEntry(
                        r.Block, r.Kind, r.Owner?.Pid ?? 0, r.Owner?.Uid ?? ReservationEntry.NoUid, r.MayBeUsedBy(requester) ? r.Token : 0,
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
}
