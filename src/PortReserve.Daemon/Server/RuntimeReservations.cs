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
internal sealed class RuntimeReservations(ReservationLedger ledger, ProcessTrees? trees, RestoredHolders restored, RequestAudit audit, DaemonCounters counters, ILogger logger)
{
    private volatile bool _stopping;

    /// <summary>
    /// A client re-attaches a reservation it held before the daemon restarted: it must be the process that acquired it.
    /// The first connection to re-attach one of a restored holder's reservations takes that holder over
    /// (<paramref name="adopted"/>, null otherwise): its reservations then go when that connection does.
    /// </summary>
    public Refusable<Reservation> Reattach(ulong token, Principal requester, out HolderId? adopted)
    {
        adopted = null;
        Refusable<Reservation> result = ledger.FindHeld(token, requester);
        if (!result.TryGet(out Reservation? held, out Refusal? refusal))
        {
            return audit.Refused(refusal, "re-attach", requester.Pid, requester.Uid);
        }

        if (restored.Adopt(held.Owner!.HolderId))
        {
            adopted = held.Owner.HolderId;
        }

        return held;
    }

    /// <summary>
    /// The daemon stops: from now on holders that go (the connections it closes on the way out) keep their reservations
    /// and their process trees where the next daemon finds them, pinned and recorded, as a crash would leave them.
    /// </summary>
    public void KeepForTheNextDaemon()
    {
        _stopping = true;
        trees?.KeepForTheNextDaemon();
    }

    /// <summary>
    /// Acquires now, for a client of the event loop: the block is placed, and <paramref name="version"/> is the change to
    /// commit before <see cref="Acquired"/> grants it (0 when refused).
    /// </summary>
    public Refusable<Reservation> Acquire(PortBlock requested, ReservationOwner owner, out long version)
    {
        Refusable<Reservation> result = ledger.Acquire(requested, owner, out version);
        if (result.TryGet(out _, out Refusal? refusal))
        {
            return result;
        }

        string what = requested.IsWildcard ? $"acquire any {requested.Range.Count} {requested.Protocol} port(s)" : $"acquire {requested}";
        return audit.Refused(refusal, what, owner.Principal.Pid, owner.Principal.Uid);
    }

    /// <summary>A placed acquire whose commit is done: granted (counted, logged), or taken back when the kernel refused it.</summary>
    public Refusable<Reservation> Acquired(Refusable<Reservation> placed, Exception? commitFailure, PortBlock requested, ReservationOwner owner)
    {
        Refusable<Reservation> result = ledger.Settle(placed, commitFailure, requested, owner);
        if (!result.TryGet(out Reservation? acquired, out Refusal? refusal))
        {
            return audit.Refused(refusal, "acquire", owner.Principal.Pid, owner.Principal.Uid);
        }

        counters.OnAcquired();
        if (audit.MayLogChange(owner.Principal))
        {
            DaemonLog.Acquired(logger, acquired.Block, owner.Principal.Pid, owner.Principal.Uid);
        }
        return acquired;
    }

    /// <summary>Releases now; the reply may go once the commit of <paramref name="version"/> is done (a failed one is retried by the next).</summary>
    public Refusable<Reservation> Release(ulong token, Principal requester, out long version)
    {
        Refusable<Reservation> result = ledger.Release(token, requester, out version);
        if (!result.TryGet(out Reservation? released, out Refusal? refusal))
        {
            return audit.Refused(refusal, "release", requester.Pid, requester.Uid);
        }

        counters.OnReleased();
        if (audit.MayLogChange(requester))
        {
            DaemonLog.Released(logger, released.Block, requester.Pid, requester.Uid);
        }
        return released;
    }

    /// <summary>
    /// Checks that the requester may associate sockets with the token's reservation, and returns it; the reply may go
    /// once the commit of <paramref name="version"/> is done (using a persistent reservation changes the bind hook).
    /// </summary>
    public Refusable<Reservation> Authorize(TokenRequest request, Principal requester, HolderId holderId, out long version)
    {
        Refusable<Reservation> result = ledger.Authorize(request.Token, request.Protocol, requester, holderId, out version);
        return result.TryGet(out _, out Refusal? refusal) ? result : audit.Refused(refusal, "associate", requester.Pid, requester.Uid);
    }

    /// <summary>
    /// Grants one port free on both TCP and UDP to the process in <paramref name="owner"/> (portserver protocol); the
    /// reply may go out once this completes, when the kernel holds both reservations.
    /// </summary>
    public async Task<Refusable<Reservation>> GrantAsync(ReservationOwner owner)
    {
        Refusable<Reservation> result = await ledger.AcquireBothAsync(owner).ConfigureAwait(false);
        if (!result.TryGet(out Reservation? granted, out Refusal? refusal))
        {
            return audit.Refused(refusal, "grant a port (portserver)", owner.Principal.Pid, owner.Principal.Uid);
        }

        counters.OnGranted();
        counters.OnAcquired(2);
        if (audit.MayLogChange(owner.Principal))
        {
            DaemonLog.Granted(logger, granted.Block.Range.Start, owner.Principal.Pid, owner.Principal.Uid);
        }
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
    public async Task<Refusal?> ShareWithChildProcessesAsync(ReservationOwner owner, Microsoft.Win32.SafeHandles.SafeFileHandle pidfd)
    {
        if (trees is null)
        {
            return null;
        }

        ProcessTree cgroup;
        try
        {
            cgroup = trees.Create(owner.HolderId, owner.Principal.ProcessId, owner.Principal.Pid, pidfd);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return audit.Refused(new Refusal(PortReservationErrorKind.OperationNotSupported, $"cannot give pid {owner.Principal.Pid} a cgroup of its own for its child processes ({e.Message}); only the process itself may bind its reserved ports"), "share reservations with child processes", owner.Principal.Pid, owner.Principal.Uid);
        }

        if (await ledger.AssignProcessTreeAsync(owner.HolderId, owner.Principal.Pid, cgroup).ConfigureAwait(false) is { } failure)
        {
            return audit.Refused(new Refusal(PortReservationErrorKind.ServiceUnavailable, $"the bind hook did not take pid {owner.Principal.Pid}'s process tree ({failure.Message}); only the process itself may bind its reserved ports"), "share reservations with child processes", owner.Principal.Pid, owner.Principal.Uid);
        }

        if (audit.MayLogChange(owner.Principal))
        {
            DaemonLog.ProcessTreeShared(logger, owner.Principal.Pid, owner.Principal.Uid, cgroup.CgroupId);
        }
        return null;
    }

    /// <summary>
    /// The process that opened a connection exited while the connection lives on (a child inherited it): what that
    /// process was allowed by pid is revoked; the connection's reservations stay until it closes or releases them.
    /// </summary>
    public void HolderProcessExited(ReservationOwner owner)
    {
        ledger.HolderProcessExited(owner.HolderId);
        if (audit.MayLogChange(owner.Principal))
        {
            DaemonLog.HolderProcessExited(logger, owner.Principal.Pid, owner.HolderId.Value);
        }
    }

    /// <summary>A holder went away (a connection closed, a grant's process exited): its ports go back at once.</summary>
    public void ReleaseHolder(HolderId holderId, string holder)
    {
        if (_stopping)
        {
            return;
        }

        IReadOnlyList<Reservation> released = ledger.ReleaseHolder(holderId);
        trees?.Remove(holderId);
        Released(released, holder);
    }

    /// <summary>
    /// Drops every runtime reservation, of clients and portserver grants alike (a stop without the bind hooks, before
    /// the connections close), and waits for the kernel.
    /// </summary>
    public async Task ReleaseAllRuntimeAsync() => Released(await ledger.ReleaseAllRuntimeAsync().ConfigureAwait(false), holder: null);

    /// <param name="holder">What went away ("connection"); null when the daemon stops.</param>
    private void Released(IReadOnlyList<Reservation> released, string? holder)
    {
        if (released.Count == 0)
        {
            return;
        }

        counters.OnReleased(released.Count);
        foreach (Reservation reservation in released)
        {
            if (reservation.Owner is { } owner && audit.MayLogChange(owner.Principal))
            {
                if (holder is null)
                {
                    DaemonLog.ReleasedAtStop(logger, reservation.Block, owner.Principal.Pid, owner.Principal.Uid);
                }
                else
                {
                    DaemonLog.ReleasedWithHolder(logger, reservation.Block, owner.Principal.Pid, owner.Principal.Uid, holder);
                }
            }
        }
    }
}
