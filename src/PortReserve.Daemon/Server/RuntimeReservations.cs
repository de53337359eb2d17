using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Runtime reservations as clients and the portserver endpoint ask for them: acquire, release, associate, and release
/// with their holder. Each outcome is counted and logged; the ledger makes the change.
/// </summary>
internal sealed class RuntimeReservations(ReservationLedger ledger, ProcessTrees? trees, RequestAudit audit, DaemonCounters counters, ILogger logger)
{
    public async Task<TableResult<Reservation>> AcquireAsync(PortBlock requested, ReservationOwner owner)
    {
        TableResult<Reservation> result = await ledger.AcquireAsync(requested, owner).ConfigureAwait(false);
        if (!result.TryGet(out Reservation? acquired, out Refusal? refusal))
        {
            string what = requested.IsWildcard ? $"acquire any {requested.Range.Count} {requested.Protocol} port(s)" : $"acquire {requested}";
            return audit.Refused(refusal, what, owner.Pid, owner.Uid);
        }

        counters.OnAcquired();
        DaemonLog.Acquired(logger, acquired.Block, owner.Pid, owner.Uid);
        return acquired;
    }

    public async Task<TableResult<Reservation>> ReleaseAsync(ulong token, Requester requester)
    {
        TableResult<Reservation> result = await ledger.ReleaseAsync(token, requester.Pid).ConfigureAwait(false);
        if (!result.TryGet(out Reservation? released, out Refusal? refusal))
        {
            return audit.Refused(refusal, "release", requester.Pid, requester.Uid);
        }

        counters.OnReleased();
        DaemonLog.Released(logger, released.Block, requester.Pid, requester.Uid);
        return released;
    }

    /// <summary>Checks that the requester may associate sockets with the token's reservation, and returns it.</summary>
    public async Task<TableResult<Reservation>> AuthorizeAsync(TokenRequest request, Requester requester, long holderId)
    {
        TableResult<Reservation> result = await ledger.AuthorizeAsync(request.Token, request.Protocol, requester, holderId).ConfigureAwait(false);
        return result.TryGet(out _, out Refusal? refusal) ? result : audit.Refused(refusal, "associate", requester.Pid, requester.Uid);
    }

    /// <summary>
    /// Grants one port free on both TCP and UDP to the process in <paramref name="owner"/> (portserver protocol); the
    /// reply may go out once this completes, when the kernel holds both reservations.
    /// </summary>
    public async Task<TableResult<Reservation>> GrantAsync(ReservationOwner owner)
    {
        TableResult<Reservation> result = await ledger.AcquireBothAsync(owner).ConfigureAwait(false);
        if (!result.TryGet(out Reservation? granted, out Refusal? refusal))
        {
            return audit.Refused(refusal, "grant a port (portserver)", owner.Pid, owner.Uid);
        }

        counters.OnGranted();
        counters.OnAcquired(2);
        DaemonLog.Granted(logger, granted.Block.Range.Start, owner.Pid, owner.Uid);
        return granted;
    }

    /// <summary>A portserver request that was not for a live process.</summary>
    public void GrantRefused(string reason, int pid, uint uid)
        => audit.Refused(new Refusal(PortReservationErrorKind.InvalidArgument, reason), "grant a port (portserver)", pid, uid);

    /// <summary>
    /// Lets every process <paramref name="owner"/>'s process starts from now on bind its runtime reservations, as the
    /// process itself may (<c>portreserve run</c>): the process is moved into a cgroup of its own, which its children are
    /// born into. Without exclusive binds there is nothing to share: anyone may bind reserved ports already.
    /// </summary>
    public async Task<Refusal?> ShareWithChildProcessesAsync(ReservationOwner owner)
    {
        if (trees is null)
        {
            return null;
        }

        ulong cgroup;
        try
        {
            cgroup = trees.Create(owner.HolderId, owner.Pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return audit.Refused(new Refusal(PortReservationErrorKind.OperationNotSupported, $"cannot give pid {owner.Pid} a cgroup of its own for its child processes ({e.Message}); only the process itself may bind its reserved ports"), "share reservations with child processes", owner.Pid, owner.Uid);
        }

        await ledger.AssignProcessTreeAsync(owner.HolderId, owner.Pid, cgroup).ConfigureAwait(false);
        DaemonLog.ProcessTreeShared(logger, owner.Pid, owner.Uid, cgroup);
        return null;
    }

    /// <summary>A holder went away (a connection closed, a grant's process exited): its ports go back at once.</summary>
    public void HolderGone(long holderId, string holder)
    {
        IReadOnlyList<Reservation> released = ledger.ReleaseHolder(holderId);
        trees?.Remove(holderId);
        Released(released, holder);
    }

    /// <summary>Drops every runtime reservation, of clients and portserver grants alike (shutdown), and waits for the kernel.</summary>
    public async Task ReleaseAllAsync() => Released(await ledger.ReleaseAllRuntimeAsync().ConfigureAwait(false), "daemon");

    private void Released(IReadOnlyList<Reservation> released, string holder)
    {
        if (released.Count == 0)
        {
            return;
        }

        counters.OnReleased(released.Count);
        foreach (Reservation reservation in released)
        {
            if (reservation.Owner is { } owner)
            {
                DaemonLog.ReleasedWithHolder(logger, reservation.Block, owner.Pid, owner.Uid, holder);
            }
        }
    }
}
