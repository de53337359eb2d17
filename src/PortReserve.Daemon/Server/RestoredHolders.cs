using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Compat;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The runtime reservations a daemon before this one granted, put back at start-up for the holders that are still
/// alive: a holder's process is proven to be the same by its pidfs inode, never by its pid, so a process that got a
/// dead holder's pid during the gap gets nothing. Each earlier holder becomes one restored holder, held by its process
/// until a connection of that process re-attaches (then by that connection, as if it had acquired them), or until the
/// process exits. A client connection's holder that no connection re-attaches within <see cref="ReattachWindow"/> is
/// released: its client gave up. A portserver grant's holder is its process, as before.
/// </summary>
internal sealed class RestoredHolders : IDisposable
{
    /// <summary>How long a restored client holder waits for its client to re-attach.</summary>
    public static readonly TimeSpan ReattachWindow = TimeSpan.FromMinutes(2);

    // Restored holders are numbered apart from connections (counted up from 1) and grants (down from -1).
    // Numbers far above any this daemon's connections and grants will reach, so that restored holders keep theirs.
    private const long FirstConnectionHolder = 1L << 48;
    private const long FirstGrantHolder = 1L << 48;

    private readonly Dictionary<HolderId, Restored> _holders;
    private ITimer? _deadline;

    private RestoredHolders(Dictionary<HolderId, Restored> holders) => _holders = holders;

    /// <summary>The restored holders' process trees, which the process trees take over instead of removing.</summary>
    public IEnumerable<(HolderId HolderId, ulong ProcessId, ProcessTree Tree)> Trees
        => _holders.Where(h => h.Value.Tree.CgroupId != 0).Select(h => (h.Key, h.Value.Owner.Principal.ProcessId, h.Value.Tree));

    /// <summary>
    /// Puts back in <paramref name="table"/> the recorded reservations whose holders' processes are alive and the same,
    /// under new holder ids, with their process trees; logs what it restored and what it released.
    /// </summary>
    /// <param name="access">Who is an administrator now: a holder recorded as one stays one only if its process still is.</param>
    public static RestoredHolders Restore(IReadOnlyList<RuntimeRecord> recorded, ReservationTable table, AccessPolicy access, ILogger logger)
    {
        var holders = new Dictionary<HolderId, Restored>();
        long connections = FirstConnectionHolder;
        long grants = FirstGrantHolder;
        int restored = 0;
        foreach (IGrouping<HolderId, RuntimeRecord> earlier in recorded.GroupBy(record => record.Owner.HolderId))
        {
            ReservationOwner owner = earlier.First().Owner;
            SafeFileHandle? pidfd = Prove(owner);
            if (pidfd is null)
            {
                foreach (RuntimeRecord gone in earlier)
                {
                    DaemonLog.RuntimeNotRestored(logger, gone.Block, owner.Principal.Pid, owner.Principal.Uid);
                }

                continue;
            }

            HolderId id = earlier.Key.IsConnection ? HolderId.Connection(connections++) : HolderId.PortServerGrant(grants++);
            uint[] groups = GroupsOf(owner.Principal.Pid);
            bool administrator = owner.Principal.IsAdministrator && access.IsAdministrator(owner.Principal.Uid, groups);
            ReservationOwner now = owner with { HolderId = id, Principal = owner.Principal with { Groups = groups, IsAdministrator = administrator } };
            ProcessTree tree = earlier.First().Tree;
            int placed = earlier.Count(record => table.RestoreRuntime(record.Block, record.Token, now) is not null);
            if (placed == 0)
            {
                pidfd.Dispose();
                continue;
            }

            if (tree.CgroupId != 0)
            {
                table.AssignProcessTree(id, owner.Principal.Pid, tree);
            }

            holders[id] = new Restored(pidfd, now, tree);
            restored += placed;
        }

        if (recorded.Count > 0)
        {
            DaemonLog.RuntimeRestored(logger, restored, holders.Count, recorded.Count - restored);
        }

        return new RestoredHolders(holders);
    }

    /// <summary>
    /// The restored holders whose processes exited since <see cref="Restore"/> (before the first commit wrote their pids
    /// into the live map, which the exit program keeps true only from then on): they are no longer restored, and their
    /// ids come back for the caller to release before the hooks take over.
    /// </summary>
    public IReadOnlyList<HolderId> TakeExited()
    {
        lock (_holders)
        {
            HolderId[] exited = [.. _holders.Where(h => Interop.Libc.PidfdHasExited(h.Value.Pidfd)).Select(h => h.Key)];
            foreach (HolderId id in exited)
            {
                _holders.Remove(id, out Restored? gone);
                gone!.Pidfd.Dispose();
            }

            return exited;
        }
    }

    /// <summary>
    /// From now on a restored holder goes when its process exits (one gone since <see cref="Restore"/> goes at once), and
    /// a client holder that nothing re-attached goes after <see cref="ReattachWindow"/>.
    /// </summary>
    public void Start(ProcessExitWatcher watcher, RuntimeReservations runtime, TimeProvider time)
    {
        lock (_holders)
        {
            foreach ((HolderId id, Restored holder) in _holders)
            {
                watcher.Watch(holder.Pidfd, () => ProcessExited(runtime, id, holder));
            }

            if (_holders.Values.Any(holder => holder.Owner.HolderId.IsConnection))
            {
                _deadline = time.CreateTimer(_ => ReleaseUnattached(runtime), null, ReattachWindow, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// A connection re-attached a reservation of restored holder <paramref name="holderId"/>: true the first time, when
    /// the connection takes the holder over (it goes when the connection does); false for any other id, or again.
    /// </summary>
    public bool Adopt(HolderId holderId)
    {
        lock (_holders)
        {
            if (!_holders.TryGetValue(holderId, out Restored? holder) || holder.Adopted)
            {
                return false;
            }

            holder.Adopted = true;
            return true;
        }
    }

    public void Dispose()
    {
        lock (_holders)
        {
            _deadline?.Dispose();
        }
    }

    /// <summary>A pidfd of the recorded process when it is alive and the same one (its pidfs inode); null otherwise, or where the kernel cannot tell.</summary>
    private static SafeFileHandle? Prove(ReservationOwner owner)
    {
        if ((owner.Principal.ProcessId & (1UL << 63)) != 0)
        {
            // Recorded without pidfs: nothing can prove that a process with that pid now is the one.
            return null;
        }

        // A zombie still holds its pid but speaks for nobody: it has exited.
        SafeFileHandle pidfd = Interop.Libc.PidfdOpen(owner.Principal.Pid, 0);
        if (!pidfd.IsInvalid && Interop.Libc.PidfsInode(pidfd) == owner.Principal.ProcessId && !Interop.Libc.PidfdHasExited(pidfd))
        {
            return pidfd;
        }

        pidfd.Dispose();
        return null;
    }

    /// <summary>
    /// A restored holder's process exited. Until a connection adopted the holder, the process held it: it goes. Once one
    /// did, the rules of any connection's holder apply: the pid's rights go now, the reservations when the connection does.
    /// </summary>
    private void ProcessExited(RuntimeReservations runtime, HolderId id, Restored holder)
    {
        bool adopted;
        lock (_holders)
        {
            adopted = holder.Adopted;
        }

        if (adopted)
        {
            runtime.HolderProcessExited(holder.Owner);
        }
        else
        {
            runtime.ReleaseHolder(id, "process");
        }
    }

    /// <summary>The process's real gid and supplementary groups (<c>/proc/PID/status</c>); none when it cannot be read.</summary>
    private static uint[] GroupsOf(int pid)
    {
        if (Processes.ProcessStatus.ReadIds(pid) is not (_, var gid, var groups))
        {
            return [];
        }

        return gid is { } real ? [real, .. groups] : groups;
    }

    private void ReleaseUnattached(RuntimeReservations runtime)
    {
        HolderId[] unattached;
        lock (_holders)
        {
            unattached = [.. _holders.Where(h => h.Key.IsConnection && !h.Value.Adopted).Select(h => h.Key)];
        }

        foreach (HolderId id in unattached)
        {
            runtime.ReleaseHolder(id, "client, which did not re-attach after the restart,");
        }
    }

    /// <summary>A restored holder: a pidfd of its process, its owner (under its new id), its process tree.</summary>
    private sealed record Restored(SafeFileHandle Pidfd, ReservationOwner Owner, ProcessTree Tree)
    {
        public bool Adopted { get; set; }
    }
}
