using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The machine's reservation table: per-protocol occupancy, ownership, tokens, quotas and system exclusions. Pure logic
/// with no I/O besides the injected <see cref="IPortUsage"/> probe. Not thread-safe: its owner (the ledger) serialises
/// every call.
/// </summary>
internal sealed class ReservationTable : IReservationView
{
    private readonly PlacedReservations _placed;
    private readonly SystemExclusions _system = new();
    private readonly PersistentUses _uses = new();
    private readonly UidQuotas _quotas;
    private readonly WildcardSearch _wildcard;
    private readonly IPortUsage _portUsage;
    private readonly ChangeJournal _journal;
    private readonly Func<int> _unprivilegedPortStart;

    /// <param name="wildcardRange">Where wildcard requests are served from.</param>
    /// <param name="quotas">Per-uid limits on runtime reservations.</param>
    /// <param name="portUsage">Tells whether a port is bound by a socket.</param>
    /// <param name="tokenSource">Token generator (cryptographic random unless a test gives one).</param>
    /// <param name="recordChanges">Keep a journal of changes for <see cref="TakeChanges"/> (a kernel sink mirrors them).</param>
    /// <param name="unprivilegedPortStart">
    /// The first port anyone may bind (net.ipv4.ip_unprivileged_port_start); runtime reservations of ports below it need
    /// an administrator. Without it, no port is privileged.
    /// </param>
    public ReservationTable(PortRange wildcardRange, QuotaPolicy quotas, IPortUsage portUsage, Func<ulong>? tokenSource = null, bool recordChanges = false, Func<int>? unprivilegedPortStart = null)
    {
        if (!wildcardRange.IsValid)
        {
            throw new ArgumentOutOfRangeException(nameof(wildcardRange), wildcardRange, "wildcard range must lie within 1-65535");
        }

        _quotas = new UidQuotas(quotas);
        _wildcard = new WildcardSearch(wildcardRange, _system);
        _portUsage = portUsage;
        _journal = new ChangeJournal(recordChanges);
        _placed = new PlacedReservations(tokenSource ?? new TokenSource().Next, _quotas, _journal);
        _unprivilegedPortStart = unprivilegedPortStart ?? (() => 0);
    }

    public PortRange WildcardRange => _wildcard.Range;

    public QuotaPolicy Quotas => _quotas.Policy;

    public IEnumerable<Reservation> Reservations => _placed.Visible;

    public IReadOnlyList<PortRange> SystemExclusions => _system.Ranges;

    public ReservationCounts Counts => _placed.Counts(_system.Ranges.Count);

    /// <summary>
    /// Places a runtime reservation, pending: exactly the requested block, or for a wildcard request (start 0) a free
    /// block of its count inside the wildcard range that holds no port the probe doubts. It holds its ports but nobody
    /// sees it until <see cref="Confirm"/> has found them free, which the ledger calls once the kernel enforces them:
    /// enforce, then check, then grant, so that nobody can bind a port between the check and the grant.
    /// </summary>
    public Refusable<Reservation> Acquire(PortBlock requested, ReservationOwner owner)
    {
        if (requested.Problem(wildcardAllowed: true) is { } problem)
        {
            return TableRefusals.Invalid(problem);
        }

        if (_quotas.Check(owner, 1, requested.Range.Count) is { } overQuota)
        {
            return overQuota;
        }

        int lowest = owner.Principal.IsAdministrator ? 1 : _unprivilegedPortStart();
        if (!requested.IsWildcard && requested.Range.Start < lowest)
        {
            return TableRefusals.PrivilegedPorts(requested, lowest);
        }

        PortBlock block;
        bool chosen = requested.IsWildcard;
        if (chosen)
        {
            int found = _wildcard.Find(requested.Protocol, _placed.Space(requested.Protocol).Occupied, requested.Range.Count, lowest);
            if (found < 0)
            {
                return TableRefusals.NoFreeBlock(requested, WildcardRange);
            }

            block = requested with { Range = new PortRange(found, requested.Range.Count) };
        }
        else if (CheckUnreserved(requested) is { } taken)
        {
            return taken;
        }
        else
        {
            block = requested;
        }

        return _placed.Add(new Reservation(block, _placed.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: chosen));
    }

    /// <summary>
    /// The kernel enforces a placed reservation: now no socket but its holder's (and the daemon's probe) can bind its
    /// ports, so the in-use check is final. A runtime reservation whose ports are free becomes visible; a persistent one
    /// stays pending until it is stored (<see cref="Publish"/>). One with a port in use is taken out and refused.
    /// </summary>
    public Refusable<Reservation> Confirm(Reservation placed)
    {
        if (!_placed.Contains(placed))
        {
            return TableRefusals.ReleasedBeforeGranted(placed.Block);
        }

        int inUse = FirstInUse(placed);
        if (inUse >= 0)
        {
            Remove(placed);
            return TableRefusals.InUse(placed.Block.Protocol, inUse);
        }

        if (placed.Kind == PortReservationKind.Runtime)
        {
            placed.Publish();
        }

        return placed;
    }

    /// <summary>
    /// Acquires the same wildcard block in both port spaces (portpicker's meaning of a free port: free on TCP and UDP),
    /// as two runtime reservations with one owner. Returns the TCP one; the UDP one has the same range.
    /// </summary>
    public Refusable<Reservation> AcquireBoth(int count, ReservationOwner owner)
    {
        if (new PortBlock(PortReservationProtocol.Tcp, 0, count).Problem(wildcardAllowed: true) is { } problem)
        {
            return TableRefusals.Invalid(problem);
        }

        if (_quotas.Check(owner, 2, 2 * count) is { } overQuota)
        {
            return overQuota;
        }

        int found = _wildcard.FindInBoth(_placed.Tcp.Occupied, _placed.Udp.Occupied, count, owner.Principal.IsAdministrator ? 1 : _unprivilegedPortStart());
        if (found < 0)
        {
            return TableRefusals.NoFreeBlockInBoth(count, WildcardRange);
        }

        var range = new PortRange(found, count);
        Reservation tcp = _placed.Add(new Reservation(new PortBlock(PortReservationProtocol.Tcp, range), _placed.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: true));
        _placed.Add(new Reservation(new PortBlock(PortReservationProtocol.Udp, range), _placed.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: true));
        return tcp;
    }

    /// <summary>As <see cref="Confirm"/>, for the pair <see cref="AcquireBoth"/> placed (given its TCP half): both or neither.</summary>
    public Refusable<Reservation> ConfirmBoth(Reservation tcp)
    {
        if (_placed.Udp.OwnerOf(tcp.Block.Range.Start) is not { } udp || udp.Owner?.HolderId != tcp.Owner?.HolderId)
        {
            return Confirm(tcp);
        }

        int inUse = FirstInUse(udp);
        if (inUse >= 0)
        {
            Remove(udp);
            Remove(tcp);
            return TableRefusals.InUse(PortReservationProtocol.Udp, inUse);
        }

        Refusable<Reservation> confirmed = Confirm(tcp);
        if (confirmed.TryGet(out _, out _))
        {
            udp.Publish();
        }
        else
        {
            Remove(udp);
        }

        return confirmed;
    }

    /// <summary>Releases a runtime reservation on behalf of <paramref name="requester"/>, which must be the process that acquired it.</summary>
    public Refusable<Reservation> Release(ulong token, Principal requester)
    {
        if (_placed.Find(token) is not { } reservation)
        {
            return TableRefusals.UnknownToken(token);
        }

        if (reservation.Owner is not { } owner)
        {
            return TableRefusals.PersistentIsDeleted(token, reservation.Block);
        }

        if (owner.Principal.ProcessId != requester.ProcessId)
        {
            return TableRefusals.NotOwner(token);
        }

        Remove(reservation);
        return reservation;
    }

    /// <summary>The runtime reservation <paramref name="token"/> names, when <paramref name="requester"/> is the process that acquired it.</summary>
    public Refusable<Reservation> FindHeld(ulong token, Principal requester)
    {
        if (_placed.Find(token) is not { } reservation)
        {
            return TableRefusals.NotLive(token);
        }

        return reservation.Owner is not { } owner
            ? TableRefusals.PersistentIsUsed(token, reservation.Block)
            : owner.Principal.ProcessId != requester.ProcessId ? TableRefusals.NotOwner(token) : reservation;
    }

    /// <summary>
    /// Checks that <paramref name="requester"/> may associate sockets of <paramref name="protocol"/> with the token's block.
    /// A persistent reservation's use is then granted to the requester's process for as long as <paramref name="holderId"/>
    /// (its connection) lasts: its own credentials, supplementary groups included, were what allowed it.
    /// </summary>
    public Refusable<Reservation> Authorize(ulong token, PortReservationProtocol? protocol, Principal requester, HolderId holderId)
    {
        if (_placed.Find(token) is not { } reservation)
        {
            return TableRefusals.UnknownToken(token);
        }

        if (!reservation.MayBeUsedBy(requester))
        {
            return reservation.Owner is null
                ? TableRefusals.NotAConsumer(requester.Uid, reservation.Block)
                : TableRefusals.NotOwner(token);
        }

        if (protocol is { } p && p != reservation.Block.Protocol)
        {
            return TableRefusals.OtherProtocol(token, reservation.Block.Protocol, p);
        }

        if (reservation.Owner is null && _journal.IsKept)
        {
            if (_uses.Grant(holderId, requester, reservation) is { } full)
            {
                return full;
            }

            _journal.Record(ReservationChange.UseGranted(reservation, holderId, requester.Pid));
        }

        return reservation;
    }

    /// <summary>Drops every runtime reservation of a holder that went away (its connection closed, its process exited).</summary>
    public IReadOnlyList<Reservation> ReleaseHolder(HolderId holderId)
    {
        IReadOnlyList<Reservation> held = _placed.RemoveHeld(holderId);
        _uses.ReleaseHolder(holderId);
        _journal.Record(ReservationChange.HolderGone(holderId));
        return held;
    }

    /// <summary>
    /// Names the process tree (a cgroup) of a runtime holder whose process is <paramref name="pid"/>: its reservations,
    /// those it holds and those it acquires later, may then be bound by every process in that cgroup.
    /// </summary>
    public void AssignProcessTree(HolderId holderId, int pid, ProcessTree tree) => _journal.Record(ReservationChange.TreeAssigned(holderId, pid, tree));

    /// <summary>
    /// The process a holder speaks for exited while the holder lives on (a child kept its connection): the rights given
    /// to that process by pid go, before the pid can be another process's.
    /// </summary>
    public void HolderProcessExited(HolderId holderId)
    {
        _uses.ReleaseHolder(holderId);
        _journal.Record(ReservationChange.ProcessExited(holderId));
    }

    /// <summary>True when changes wait for <see cref="TakeChanges"/>.</summary>
    public bool HasChanges => _journal.HasChanges;

    /// <summary>Moves the changes made since the last call into <paramref name="destination"/>, in order.</summary>
    public void TakeChanges(List<ReservationChange> destination) => _journal.TakeChanges(destination);

    /// <summary>Drops every runtime reservation (shutdown).</summary>
    public IReadOnlyList<Reservation> ReleaseAllRuntime() => [.. _placed.Holders.ToList().SelectMany(ReleaseHolder)];

    /// <summary>
    /// Places a persistent reservation of exactly <paramref name="block"/>, pending: its ports are taken at once, but it
    /// is invisible (no lookup, listing, use or delete finds it) until <see cref="Publish"/>. Like an acquire, it may not
    /// overlap anything placed, a system exclusion, or a port in use.
    /// </summary>
    public Refusable<Reservation> PlacePersistent(PortBlock block, PersistentConsumers consumers, string? source = null)
    {
        if (block.Problem(wildcardAllowed: false) is { } problem)
        {
            return TableRefusals.Invalid(problem);
        }

        return CheckUnreserved(block) ?? (Refusable<Reservation>)_placed.Add(new Reservation(block, _placed.NewToken(), PortReservationKind.Persistent, owner: null, consumers, pending: true, source));
    }

    /// <summary>
    /// A declared persistent reservation's line was read again: it may have moved (<paramref name="source"/>) or changed
    /// who may consume it. The kernel sinks learn of a consumer change; the block and token stay.
    /// </summary>
    public bool Redeclare(Reservation declared, PersistentConsumers consumers, string source)
    {
        bool consumersChanged = !(declared.Consumers ?? PersistentConsumers.None).SameAs(consumers);
        declared.Redeclare(consumers, source);
        if (consumersChanged)
        {
            _journal.Record(ReservationChange.ConsumersChanged(declared));
        }

        return consumersChanged;
    }

    /// <summary>Makes a placed persistent reservation visible: it is on disk and in the kernel.</summary>
    public void Publish(Reservation pending) => pending.Publish();

    /// <summary>
    /// Puts a stored persistent reservation back at start-up, visible, with a new token. No in-use check: the block was
    /// the machine's before anything now running bound it. Stored blocks never overlap; if they do, the store is corrupt.
    /// </summary>
    public Reservation RestorePersistent(PortBlock block, PersistentConsumers consumers, string? source = null)
    {
        int taken = block.Range.IsValid ? _placed.Space(block.Protocol).Occupied.FirstIn(block.Range) : -2;
        if (taken != -1)
        {
            throw new InvalidDataException($"stored persistent reservation {block} is invalid or overlaps another stored one");
        }

        return _placed.Add(new Reservation(block, _placed.NewToken(), PortReservationKind.Persistent, owner: null, consumers, source: source));
    }

    /// <summary>
    /// Puts a runtime reservation an earlier daemon granted back at start-up, visible, with its token, once its holder's
    /// process was proven alive. No in-use check, as its holder may have bound the ports; no quota check, as it was
    /// granted within one. Null (nothing placed) for one that overlaps what is placed already or whose token is.
    /// </summary>
    public Reservation? RestoreRuntime(PortBlock block, ulong token, ReservationOwner owner)
    {
        if (token == 0 || _placed.IsTaken(token) || block.Problem(wildcardAllowed: false) is not null || _placed.Space(block.Protocol).Occupied.FirstIn(block.Range) != -1)
        {
            return null;
        }

        return _placed.Add(new Reservation(block, token, PortReservationKind.Runtime, owner));
    }

    /// <summary>The visible persistent reservation whose block is exactly <paramref name="block"/> (Windows lookup semantics).</summary>
    public Refusable<Reservation> FindPersistent(PortBlock block)
    {
        if (block.Problem(wildcardAllowed: false) is { } problem)
        {
            return TableRefusals.Invalid(problem);
        }

        Reservation? holder = _placed.Space(block.Protocol).OwnerOf(block.Range.Start);
        return holder is { Kind: PortReservationKind.Persistent, IsPending: false } && holder.Block == block
            ? holder
            : TableRefusals.NoPersistentExactly(block);
    }

    /// <summary>
    /// Takes a reservation out, whatever its kind: a deleted persistent one, a pending one whose creation failed, or a
    /// change the kernel refused. One already gone (its holder went away first) is left alone.
    /// </summary>
    public void Remove(Reservation reservation)
    {
        if (!_placed.Contains(reservation))
        {
            return;
        }

        if (reservation.Owner is null)
        {
            _uses.ReservationRemoved(reservation.Token);
        }

        _placed.Remove(reservation);
    }

    /// <summary>Adds ports found in the kernel list that the daemon did not put there.</summary>
    public void AddSystemExclusions(PortSet ports) => _system.Add(ports);

    public int LargestFreeWildcardBlock(PortReservationProtocol protocol) => _wildcard.LargestFreeBlock(_placed.Space(protocol).Occupied);

    public void CopyKernelPorts(PortSet all, PortSet reserved)
    {
        reserved.CopyFrom(_placed.Tcp.Occupied);
        reserved.UnionWith(_placed.Udp.Occupied);
        all.CopyFrom(reserved);
        all.UnionWith(_system.Ports);
    }

    /// <summary>Refuses a specific block that overlaps a placed reservation or a system exclusion; whether its ports are in use is for <see cref="Confirm"/>.</summary>
    private Refusal? CheckUnreserved(PortBlock block)
    {
        ProtocolSpace space = _placed.Space(block.Protocol);
        int taken = space.Occupied.FirstIn(block.Range);
        if (taken >= 0)
        {
            return TableRefusals.Overlaps(block, space.OwnerOf(taken));
        }

        return _system.CheckFree(block);
    }

    /// <summary>
    /// The first port of a placed block that a socket has bound, or -1; TIME_WAIT leftovers do not count, in a chosen
    /// block as in a named one (were they to count, a user leaving the range in TIME_WAIT could refuse everyone). A
    /// chosen block's port found in use is remembered, so that the next search skips it.
    /// </summary>
    private int FirstInUse(Reservation placed)
    {
        PortBlock block = placed.Block;
        int first = _portUsage.FirstInUse(block.Protocol, block.Range, exact: true);
        if (placed.Chosen && first >= 0)
        {
            _wildcard.MarkInUse(block.Protocol, first);
        }

        return first;
    }
}
