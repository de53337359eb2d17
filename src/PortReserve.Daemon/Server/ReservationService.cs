using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The one place that changes the reservation table. Every change happens under <see cref="Gate"/>, and a change
/// that the kernel must see is acknowledged only after the kernel list holds it.
/// </summary>
internal sealed partial class ReservationService(ReservationTable table, Lock gate, DaemonIdentity identity, PersistentStore store, AccessPolicy access, ILogger logger)
{
    private KernelPortSync? _kernel;
    private DaemonMetrics? _metrics;
    private int _connections;

    public Lock Gate { get; } = gate;

    public ReservationTable Table { get; } = table;

    public void AttachKernel(KernelPortSync kernel) => _kernel = kernel;

    public void AttachMetrics(DaemonMetrics metrics) => _metrics = metrics;

    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>Live reservations by kind and protocol, for the metrics (system exclusions apply to both protocols).</summary>
    public IReadOnlyList<ReservationCount> ReservationCounts()
    {
        int[] counts;
        int system;
        lock (Gate)
        {
            counts = CountsByKindAndProtocol();
            system = Table.SystemExclusions.Count;
        }

        return
        [
            new("runtime", "tcp", counts[0]),
            new("runtime", "udp", counts[1]),
            new("persistent", "tcp", counts[2]),
            new("persistent", "udp", counts[3]),
            new("system", "both", system),
        ];
    }

    public async Task<TableResult> AcquireAsync(BlockRequest request, ReservationOwner owner)
    {
        TableResult result;
        KernelCommit committed;
        lock (Gate)
        {
            result = Table.Acquire(request.Protocol, request.Start, request.Count, owner);
            if (!result.Succeeded)
            {
                _metrics?.OnRefused(result.Error!.Value);
                DaemonLog.AcquireRefused(logger, owner.Pid, owner.Uid, request.Protocol, request.Start, request.Count, result.Message!);
                return result;
            }

            committed = RequestCommit();
        }

        Reservation reservation = result.Reservation!;
        if (await WaitForKernelAsync(committed).ConfigureAwait(false) is { } failure)
        {
            lock (Gate)
            {
                Table.Release(reservation.Token, owner.Pid);
                RequestCommit().Forget();
            }

            _metrics?.OnRefused(failure.Error!.Value);
            return failure;
        }

        _metrics?.OnAcquired();
        DaemonLog.Acquired(logger, reservation.Protocol, reservation.Range, owner.Pid, owner.Uid);
        return result;
    }

    public async Task<TableResult> ReleaseAsync(ulong token, PeerCredentials requester)
    {
        TableResult result;
        KernelCommit committed;
        lock (Gate)
        {
            result = Table.Release(token, requester.Pid);
            if (!result.Succeeded)
            {
                _metrics?.OnRefused(result.Error!.Value);
                DaemonLog.ReleaseRefused(logger, requester.Pid, requester.Uid, result.Message!);
                return result;
            }

            committed = RequestCommit();
        }

        _metrics?.OnReleased();
        DaemonLog.Released(logger, result.Reservation!.Protocol, result.Reservation.Range, requester.Pid, requester.Uid);

        // The reservation is gone from the table either way; a failed write was logged and the next write retries it.
        _ = await WaitForKernelAsync(committed).ConfigureAwait(false);
        return result;
    }

    public TableResult Authorize(TokenRequest request, Requester requester)
    {
        lock (Gate)
        {
            TableResult result = Table.Authorize(request.Token, request.Protocol, requester);
            if (!result.Succeeded)
            {
                _metrics?.OnRefused(result.Error!.Value);
                DaemonLog.AssociateRefused(logger, requester.Pid, requester.Uid, result.Message!);
            }

            return result;
        }
    }

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    /// <summary>A connection closed, for whatever reason: its runtime reservations go back at once.</summary>
    public void ConnectionClosed(long connectionId)
    {
        Interlocked.Decrement(ref _connections);
        ReleaseConnection(connectionId);
    }

    public StatusReply Status()
    {
        var expected = new PortSet();
        StatusReply reply;
        lock (Gate)
        {
            Table.CopyKernelPorts(expected);
            reply = new StatusReply(
                identity.Version,
                (long)identity.Uptime.TotalMilliseconds,
                (_kernel?.Mode ?? KernelSyncMode.Off).ToString().ToLowerInvariant(),
                _kernel?.Active ?? false,
                _kernel?.Detail ?? "off",
                Table.RuntimeCount,
                Table.PersistentCount,
                Table.SystemExclusions.Count,
                Volatile.Read(ref _connections),
                Table.WildcardRange,
                identity.SocketPath,
                identity.StateDirectory)
            {
                CountsByProtocol = CountsByKindAndProtocol(),
                LargestFreeBlock = [Table.LargestFreeWildcardBlock(PortReservationProtocol.Tcp), Table.LargestFreeWildcardBlock(PortReservationProtocol.Udp)],
                MaxRuntimePortsPerUid = Table.Quotas.MaxRuntimePortsPerUid,
                MaxRuntimeReservationsPerUid = Table.Quotas.MaxRuntimeReservationsPerUid,
                PortServerAddress = identity.PortServerAddress ?? string.Empty,
                MetricsAddress = identity.MetricsAddress ?? string.Empty,
            };
        }

        // Read outside the gate; a write racing with this read can show a passing difference.
        return reply with { KernelListMatches = _kernel?.KernelListEquals(expected) };
    }

    /// <summary>Runtime TCP, runtime UDP, persistent TCP, persistent UDP, in one pass; call under the gate.</summary>
    private int[] CountsByKindAndProtocol()
    {
        int[] counts = new int[4];
        foreach (Reservation r in Table.Reservations)
        {
            counts[(r.Kind == PortReservationKind.Persistent ? 2 : 0) + (r.Protocol == PortReservationProtocol.Udp ? 1 : 0)]++;
        }

        return counts;
    }

    private void ReleaseConnection(long connectionId)
    {
        lock (Gate)
        {
            IReadOnlyList<Reservation> released = Table.ReleaseConnection(connectionId);
            if (released.Count == 0)
            {
                return;
            }

            RequestCommit().Forget();
            _metrics?.OnReleased(released.Count);
            foreach (Reservation reservation in released)
            {
                DaemonLog.ReleasedWithConnection(logger, reservation.Protocol, reservation.Range, reservation.Owner!.Pid, reservation.Owner.Uid);
            }
        }
    }

    /// <summary>The listing a caller sees: tokens only where the caller may use them.</summary>
    public List<ReservationEntry> Show(PortReservationProtocol? protocol, Requester requester)
    {
        var entries = new List<ReservationEntry>();
        lock (Gate)
        {
            foreach (Reservation r in Table.Reservations)
            {
                if (protocol is null || r.Protocol == protocol)
                {
                    entries.Add(new ReservationEntry(
                        r.Protocol, r.Kind, r.Range, r.Owner?.Pid ?? 0, r.Owner?.Uid ?? ReservationEntry.NoUid, r.MayBeUsedBy(requester) ? r.Token : 0,
                        [.. r.Consumers?.Users.Select(u => u.ToString()) ?? []], [.. r.Consumers?.Groups.Select(g => g.ToString()) ?? []]));
                }
            }

            foreach (PortRange range in Table.SystemExclusions)
            {
                foreach (PortReservationProtocol p in (PortReservationProtocol[])[PortReservationProtocol.Tcp, PortReservationProtocol.Udp])
                {
                    if (protocol is null || protocol == p)
                    {
                        entries.Add(new ReservationEntry(p, PortReservationKind.System, range, 0, ReservationEntry.NoUid, 0, [], []));
                    }
                }
            }
        }

        entries.Sort((a, b) => a.Protocol != b.Protocol ? a.Protocol.CompareTo(b.Protocol) : a.Range.Start.CompareTo(b.Range.Start));
        return entries;
    }

    /// <summary>Drops every runtime reservation, of clients and portserver grants alike (shutdown), and waits for the kernel.</summary>
    public async Task ReleaseAllRuntimeAsync()
    {
        KernelCommit committed;
        lock (Gate)
        {
            foreach (long connectionId in Table.RuntimeConnectionIds.ToList())
            {
                ReleaseConnection(connectionId);
            }

            committed = RequestCommit();
        }

        await committed.WaitAsync().ConfigureAwait(false);
    }

    private KernelCommit RequestCommit() => _kernel?.RequestCommit() ?? default;

    private async Task<TableResult?> WaitForKernelAsync(KernelCommit committed)
    {
        try
        {
            await committed.WaitAsync().ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            return TableResult.Fail(PortReservationErrorKind.ServiceUnavailable, $"the kernel refused the reserved port list update ({e.Message}); the change was not made");
        }
    }
}
