using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Core;

/// <summary>
/// The one owner of the reservation table and its lock. Every change goes through here: it is made under the lock, the
/// table's version moves on, and the kernel commit covering that version (every kernel sink) is requested before the
/// lock is released. Changes that a client must not see acknowledged before the kernel holds them wait for that commit,
/// and are undone when it fails. Reads run under the same lock through <see cref="Read{T}"/>.
/// </summary>
internal sealed class ReservationLedger : IKernelState, IAsyncDisposable
{
    /// <summary>How many wildcard blocks an acquire tries when the one placed turns out to hold a port in use.</summary>
    private const int MaxPlacements = 64;

    private readonly Lock _gate = new();
    private readonly ReservationTable _table;
    private readonly KernelCommitter _committer;
    private readonly ILogger _logger;
    private long _version;

    /// <summary>Takes over a table that start-up has filled (restored reservations, system exclusions).</summary>
    /// <param name="writer">The loop whose thread writes to the kernel (<see cref="KernelCommitter"/>); one of its own without.</param>
    public ReservationLedger(ReservationTable table, IEnumerable<IKernelSink> sinks, Metrics.DaemonCounters counters, ILogger logger, Server.EventLoop? writer = null)
    {
        _table = table;
        _logger = logger;
        _committer = new KernelCommitter(sinks, this, counters, logger, writer);
    }

    /// <summary>
    /// Writes the table to the kernel now, and waits: at start (stale entries of an earlier run go, restored ones are
    /// present) and after what start-up changes before anything is served.
    /// </summary>
    public Task CommitNowAsync() => CommitAsync();

    /// <summary>Runs a query of the table under the lock. The query must not keep what it is given.</summary>
    public T Read<T>(Func<IReservationView, T> query)
    {
        lock (_gate)
        {
            return query(_table);
        }
    }

    /// <summary>Acquires a runtime reservation; granted once the kernel holds it.</summary>
    public Task<Refusable<Reservation>> AcquireAsync(PortBlock requested, ReservationOwner owner)
        => ChangeAndCommitAsync(table => table.Acquire(requested, owner), Withdraw);

    /// <summary>
    /// Acquires one block free on both TCP and UDP (a portserver grant): granted once the kernel holds both and they are
    /// found free, taken back when the kernel refused.
    /// </summary>
    public async Task<Refusable<Reservation>> AcquireBothAsync(ReservationOwner owner)
    {
        PortRange refused = default;
        for (int attempt = 1; ; attempt++)
        {
            Refusable<Reservation> result;
            KernelCommit commit = default;
            lock (_gate)
            {
                result = _table.AcquireBoth(1, owner);
                if (result.TryGet(out _, out _))
                {
                    commit = Changed();
                }
            }

            if (await FailureOf(commit).ConfigureAwait(false) is { } failure)
            {
                ReleaseHolder(owner.HolderId);
                return KernelRefused(failure);
            }

            if (!result.TryGet(out Reservation? placed, out _))
            {
                return result;
            }

            if (placed.Block.Range == refused || attempt > MaxPlacements)
            {
                ReleaseHolder(owner.HolderId);
                return NoFreeBlockFound("TCP and UDP", 1);
            }

            Refusable<Reservation> confirmed = Confirm(placed, both: true);
            if (confirmed.TryGet(out _, out Refusal? refusal) || refusal.Kind != PortReservationErrorKind.AddressAlreadyInUse)
            {
                return confirmed;
            }

            refused = placed.Block.Range;
        }
    }

    /// <summary>
    /// Acquires a runtime reservation now; the caller must not grant it before <see cref="CommitThrough"/> of
    /// <paramref name="version"/> succeeded, and settles it with <see cref="Settle"/>. (The event loop's form: one
    /// commit at the end of the turn covers all of its changes.) <paramref name="version"/> is 0 when nothing changed.
    /// </summary>
    public Refusable<Reservation> Acquire(PortBlock requested, ReservationOwner owner, out long version)
    {
        lock (_gate)
        {
            Refusable<Reservation> result = _table.Acquire(requested, owner);
            version = result.TryGet(out _, out _) ? ++_version : 0;
            return result;
        }
    }

    /// <summary>Releases a runtime reservation for the process that acquired it now; the kernel drops it at the commit of <paramref name="version"/>.</summary>
    public Refusable<Reservation> Release(ulong token, Principal requester, out long version)
    {
        lock (_gate)
        {
            Refusable<Reservation> result = _table.Release(token, requester);
            version = result.TryGet(out _, out _) ? ++_version : 0;
            return result;
        }
    }

    /// <summary>
    /// Checks that the requester may use the token's reservation. Using a persistent one is mirrored into the kernel
    /// (its process may then bind the ports): the answer waits for the commit of <paramref name="version"/>.
    /// </summary>
    public Refusable<Reservation> Authorize(ulong token, PortReservationProtocol? protocol, Principal requester, HolderId holderId, out long version)
    {
        lock (_gate)
        {
            Refusable<Reservation> result = _table.Authorize(token, protocol, requester, holderId);
            version = _table.HasChanges ? ++_version : 0;
            return result;
        }
    }

    /// <summary>
    /// Makes sure every change up to <paramref name="version"/> reached the kernel (on the kernel writer's thread, the
    /// event loop's, it writes at once; see <see cref="KernelCommitter.CommitThrough"/>); the failure of the write, or null.
    /// </summary>
    public Exception? CommitThrough(long version) => version == 0 ? null : _committer.CommitThrough(version);

    /// <summary>
    /// An acquire whose commit is done: its ports are enforced, so now they are checked (<see cref="ReservationTable.Confirm"/>)
    /// and it is granted, or refused and taken back (the kernel refused, or a port is in use). A wildcard block found in
    /// use is replaced by another, committed on the calling thread, a few times at most.
    /// </summary>
    public Refusable<Reservation> Settle(Refusable<Reservation> acquired, Exception? commitFailure, PortBlock requested, ReservationOwner owner)
    {
        PortRange refused = default;
        long probed = 0;
        for (int attempt = 1; ; attempt++)
        {
            if (!acquired.TryGet(out Reservation? made, out _))
            {
                return acquired;
            }

            if (commitFailure is not null)
            {
                Withdraw(made);
                return KernelRefused(commitFailure);
            }

            // The search came round to the block just found in use: there is no other. Nor does one request probe more
            // than a few times its own size: refused requests cost their sender nothing, and probing is everyone's time.
            probed += made.Block.Range.Count;
            if (made.Block.Range == refused || attempt > MaxPlacements || probed > ProbeBudget(requested.Range.Count))
            {
                Withdraw(made);
                return NoFreeBlockFound(requested.Protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP", requested.Range.Count);
            }

            // Only a block found in use is replaced: one whose holder went away meanwhile is not placed again.
            Refusable<Reservation> confirmed = Confirm(made, both: false);
            if (confirmed.TryGet(out _, out Refusal? refusal) || refusal.Kind != PortReservationErrorKind.AddressAlreadyInUse || !requested.IsWildcard)
            {
                return confirmed;
            }

            refused = made.Block.Range;

            acquired = Acquire(requested, owner, out long version);
            commitFailure = CommitThrough(version);
        }
    }

    /// <summary>The in-use check of a placed reservation the kernel enforces; one refused is taken out of the kernel too.</summary>
    private Refusable<Reservation> Confirm(Reservation placed, bool both)
    {
        lock (_gate)
        {
            Refusable<Reservation> confirmed = both ? _table.ConfirmBoth(placed) : _table.Confirm(placed);
            if (!confirmed.TryGet(out _, out _))
            {
                Changed().Forget();
            }

            return confirmed;
        }
    }

    public Refusable<Reservation> FindPersistent(PortBlock block)
    {
        lock (_gate)
        {
            return _table.FindPersistent(block);
        }
    }

    /// <summary>The runtime reservation <paramref name="token"/> names, when <paramref name="requester"/> acquired it (a re-attach).</summary>
    public Refusable<Reservation> FindHeld(ulong token, Principal requester)
    {
        lock (_gate)
        {
            return _table.FindHeld(token, requester);
        }
    }

    /// <summary>A holder went away (its connection closed, its process exited): its ports go back at once.</summary>
    public IReadOnlyList<Reservation> ReleaseHolder(HolderId holderId)
    {
        lock (_gate)
        {
            // Committed even when it held no reservation: a holder that only associated or shared has rights to revoke.
            IReadOnlyList<Reservation> released = _table.ReleaseHolder(holderId);
            if (released.Count > 0 || _table.HasChanges)
            {
                Changed().Forget();
            }

            return released;
        }
    }

    /// <summary>
    /// Places a persistent reservation, pending and invisible, and waits until the kernel holds it. The caller makes it
    /// durable and then publishes it, or withdraws it.
    /// </summary>
    public Task<Refusable<Reservation>> PlacePersistentAsync(PortBlock block, PersistentConsumers consumers, string? source = null)
        => ChangeAndCommitAsync(table => table.PlacePersistent(block, consumers, source), Withdraw);

    /// <summary>
    /// Declared reservations read again from their files: each gets its line and consumers; done once the kernel sinks
    /// know of every consumer change. How many changed consumers.
    /// </summary>
    public async Task<int> RedeclareAsync(IReadOnlyList<(Reservation Declared, PersistentConsumers Consumers, string Source)> lines)
    {
        int changed = 0;
        KernelCommit? commit = null;
        lock (_gate)
        {
            foreach ((Reservation declared, PersistentConsumers consumers, string source) in lines)
            {
                changed += _table.Redeclare(declared, consumers, source) ? 1 : 0;
            }

            if (changed > 0)
            {
                commit = Changed();
            }
        }

        if (commit is { } written)
        {
            await WaitLoggedAsync(written).ConfigureAwait(false);
        }

        return changed;
    }

    /// <summary>A placed persistent reservation is durable: from now on lookups, listings and deletes see it.</summary>
    public void Publish(Reservation pending)
    {
        lock (_gate)
        {
            _table.Publish(pending);
        }
    }

    /// <summary>Takes back a change that could not be completed (a placed persistent reservation the store refused, an acquire the kernel refused).</summary>
    public void Withdraw(Reservation made)
    {
        lock (_gate)
        {
            _table.Remove(made);
            Changed().Forget();
        }
    }

    /// <summary>Takes a deleted persistent reservation (already gone from the store) out; done once the kernel no longer holds it.</summary>
    public Task DeletePersistentAsync(Reservation deleted) => DeletePersistentAsync([deleted]);

    /// <summary>Takes deleted persistent reservations out in one change; done once the kernel no longer holds them.</summary>
    public Task DeletePersistentAsync(IReadOnlyCollection<Reservation> deleted)
    {
        if (deleted.Count == 0)
        {
            return Task.CompletedTask;
        }

        KernelCommit commit;
        lock (_gate)
        {
            foreach (Reservation reservation in deleted)
            {
                _table.Remove(reservation);
            }

            commit = Changed();
        }

        return WaitLoggedAsync(commit);
    }

    /// <summary>
    /// Names a runtime holder's process tree (the cgroup its process was moved into), so that every process in it may
    /// bind the holder's ports; done once the kernel sinks know. The failure when they did not take it, or null.
    /// </summary>
    public Task<IOException?> AssignProcessTreeAsync(HolderId holderId, int pid, ProcessTree tree)
    {
        KernelCommit commit;
        lock (_gate)
        {
            _table.AssignProcessTree(holderId, pid, tree);
            commit = Changed();
        }

        return FailureOf(commit);
    }

    /// <summary>A holder's process exited while the holder lives on: the bind rights given to it by pid go at the next commit.</summary>
    public void HolderProcessExited(HolderId holderId)
    {
        lock (_gate)
        {
            _table.HolderProcessExited(holderId);
            if (_table.HasChanges)
            {
                Changed().Forget();
            }
        }
    }

    /// <summary>Drops every runtime reservation (shutdown) and waits until the kernel no longer holds them.</summary>
    public async Task<IReadOnlyList<Reservation>> ReleaseAllRuntimeAsync()
    {
        IReadOnlyList<Reservation> released;
        KernelCommit commit;
        lock (_gate)
        {
            released = _table.ReleaseAllRuntime();
            commit = Changed();
        }

        await WaitLoggedAsync(commit).ConfigureAwait(false);
        return released;
    }

    void IKernelState.Fill(KernelSnapshot snapshot)
    {
        lock (_gate)
        {
            snapshot.Version = _version;
            _table.CopyKernelPorts(snapshot.All, snapshot.Reserved);
            _table.TakeChanges(snapshot.Changes);
        }
    }

    void IKernelState.Adopt(PortSet discovered)
    {
        lock (_gate)
        {
            _table.AddSystemExclusions(discovered);
        }

        DaemonLog.SystemExclusionsFound(_logger, KernelPortList.Format(discovered));
    }

    /// <summary>Writes the table to the kernel again where the kernel drifted from it (see <see cref="KernelCommitter.Reconcile"/>).</summary>
    public void ReconcileKernel() => _committer.Reconcile();

    public ValueTask DisposeAsync() => _committer.DisposeAsync();

    /// <summary>
    /// Makes a change; when it succeeded, waits for the kernel to hold it. When the kernel refuses, <paramref name="undo"/>
    /// takes the change back and the caller is refused (ServiceUnavailable), so nothing is acknowledged that the kernel
    /// does not enforce.
    /// </summary>
    private async Task<Refusable<Reservation>> ChangeAndCommitAsync(Func<ReservationTable, Refusable<Reservation>> change, Action<Reservation> undo)
    {
        Refusable<Reservation> result;
        Reservation made;
        KernelCommit commit;
        lock (_gate)
        {
            result = change(_table);
            if (!result.TryGet(out Reservation? value, out _))
            {
                return result;
            }

            made = value;
            commit = Changed();
        }

        if (await FailureOf(commit).ConfigureAwait(false) is { } failure)
        {
            undo(made);
            return KernelRefused(failure);
        }

        // Enforced: now whether its ports are free is final.
        return Confirm(made, both: false);
    }

    /// <summary>The ports one wildcard request may have probed across its placements.</summary>
    private static long ProbeBudget(int count) => Math.Max(4L * count, 256);

    private Refusal NoFreeBlockFound(string protocols, int count)
        => new(PortReservationErrorKind.NoBufferSpaceAvailable, $"no free block of {count} consecutive {protocols} port(s) in the wildcard range {_table.WildcardRange}: the blocks left each hold a port some socket has bound; release reservations, ask for fewer ports, or widen --wildcard-range");

    private static Refusal KernelRefused(Exception e)
        => new(PortReservationErrorKind.ServiceUnavailable, $"the kernel did not take the change ({e.Message}); nothing was changed");

    /// <summary>Call under the lock after every change: the version moves on and a commit covering it is requested.</summary>
    private KernelCommit Changed() => _committer.Request(++_version);

    private async Task CommitAsync()
    {
        KernelCommit commit;
        lock (_gate)
        {
            commit = Changed();
        }

        await commit.WaitAsync().ConfigureAwait(false);
    }

    /// <summary>Waits for a commit; its failure, or null once the kernel holds the change.</summary>
    private static async Task<IOException?> FailureOf(KernelCommit commit)
    {
        try
        {
            await commit.WaitAsync().ConfigureAwait(false);
            return null;
        }
        catch (IOException e)
        {
            return e;
        }
    }

    /// <summary>Waits for a commit whose failure changes nothing for the caller: the committer logged it, and the sink that failed reports itself drifted, so the writer writes again.</summary>
    private static Task WaitLoggedAsync(KernelCommit commit) => FailureOf(commit);
}
