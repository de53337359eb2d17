using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The machine's reservation table: per-protocol occupancy, ownership, tokens, quotas and system exclusions. Pure logic
/// with no I/O besides the injected <see cref="IPortUsage"/> probe. Not thread-safe: its owner (the ledger) serialises
/// every call.
/// </summary>
internal sealed class ReservationTable : IReservationView
{
    private readonly TokenIndex _tokens;
    private readonly ProtocolSpace _tcp = new();
    private readonly ProtocolSpace _udp = new();
    private readonly SystemExclusions _system = new();
    private readonly RuntimeHolders _holders = new();
    private readonly PersistentUses _uses = new();
    private readonly UidQuotas _quotas;
    private readonly WildcardSearch _wildcard;
    private readonly IPortUsage _portUsage;
    private readonly List<ReservationChange>? _changes;
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
        _tokens = new TokenIndex(tokenSource ?? new TokenSource().Next);
        _changes = recordChanges ? [] : null;
        _unprivilegedPortStart = unprivilegedPortStart ?? (() => 0);
    }

    public PortRange WildcardRange => _wildcard.Range;

    public QuotaPolicy Quotas => _quotas.Policy;

    public IEnumerable<Reservation> Reservations => _tokens.Visible;

    public IReadOnlyList<PortRange> SystemExclusions => _system.Ranges;

    public ReservationCounts Counts
    {
        get
        {
            int runtimeTcp = 0, runtimeUdp = 0, persistentTcp = 0, persistentUdp = 0;
            foreach (Reservation r in Reservations)
            {
                switch ((r.Kind, r.Block.Protocol))
                {
                    case (PortReservationKind.Runtime, PortReservationProtocol.Tcp): runtimeTcp++; break;
                    case (PortReservationKind.Runtime, _): runtimeUdp++; break;
                    case (_, PortReservationProtocol.Tcp): persistentTcp++; break;
                    default: persistentUdp++; break;
                }
            }

            return new ReservationCounts(runtimeTcp, runtimeUdp, persistentTcp, persistentUdp, _system.Ranges.Count);
        }
    }

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
            return new Refusal(PortReservationErrorKind.InvalidArgument, problem);
        }

        if (_quotas.Check(owner, 1, requested.Range.Count) is { } overQuota)
        {
            return overQuota;
        }

        int lowest = owner.Principal.IsAdministrator ? 1 : _unprivilegedPortStart();
        if (!requested.IsWildcard && requested.Range.Start < lowest)
        {
            return PrivilegedPorts(requested, lowest);
        }

        PortBlock block;
        bool chosen = requested.IsWildcard;
        if (chosen)
        {
            int found = _wildcard.Find(requested.Protocol, Space(requested.Protocol).Occupied, requested.Range.Count, lowest);
            if (found < 0)
            {
                return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"no free block of {requested.Range.Count} consecutive {Name(requested.Protocol)} port(s) in the wildcard range {WildcardRange}: release reservations, ask for fewer ports, or widen --wildcard-range");
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

        return Add(new Reservation(block, _tokens.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: chosen));
    }

    /// <summary>
    /// The kernel enforces a placed reservation: now no socket but its holder's (and the daemon's probe) can bind its
    /// ports, so the in-use check is final. A runtime reservation whose ports are free becomes visible; a persistent one
    /// stays pending until it is stored (<see cref="Publish"/>). One with a port in use is taken out and refused.
    /// </summary>
    public Refusable<Reservation> Confirm(Reservation placed)
    {
        if (!_tokens.Contains(placed))
        {
            return new Refusal(PortReservationErrorKind.Aborted, $"{placed.Block} was released before it was granted: its holder went away");
        }

        int inUse = FirstInUse(placed);
        if (inUse >= 0)
        {
            Remove(placed);
            return InUse(placed.Block.Protocol, inUse);
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
            return new Refusal(PortReservationErrorKind.InvalidArgument, problem);
        }

        if (_quotas.Check(owner, 2, 2 * count) is { } overQuota)
        {
            return overQuota;
        }

        int found = _wildcard.FindInBoth(_tcp.Occupied, _udp.Occupied, count, owner.Principal.IsAdministrator ? 1 : _unprivilegedPortStart());
        if (found < 0)
        {
            return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"no {count} consecutive port(s) free on both TCP and UDP in the wildcard range {WildcardRange}");
        }

        var range = new PortRange(found, count);
        Reservation tcp = Add(new Reservation(new PortBlock(PortReservationProtocol.Tcp, range), _tokens.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: true));
        Add(new Reservation(new PortBlock(PortReservationProtocol.Udp, range), _tokens.NewToken(), PortReservationKind.Runtime, owner, pending: true, chosen: true));
        return tcp;
    }

    /// <summary>As <see cref="Confirm"/>, for the pair <see cref="AcquireBoth"/> placed (given its TCP half): both or neither.</summary>
    public Refusable<Reservation> ConfirmBoth(Reservation tcp)
    {
        if (_udp.OwnerOf(tcp.Block.Range.Start) is not { } udp || udp.Owner != tcp.Owner)
        {
            return Confirm(tcp);
        }

        int inUse = FirstInUse(udp);
        if (inUse >= 0)
        {
            Remove(udp);
            Remove(tcp);
            return InUse(PortReservationProtocol.Udp, inUse);
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
        if (_tokens.Find(token) is not { } reservation)
        {
            return UnknownToken(token);
        }

        if (reservation.Owner is not { } owner)
        {
            return new Refusal(PortReservationErrorKind.InvalidArgument, $"token {token} names persistent reservation {reservation.Block}, which is not released but deleted (portreserve delete)");
        }

        if (owner.Principal.ProcessId != requester.ProcessId)
        {
            return NotOwner(token);
        }

        Remove(reservation);
        return reservation;
    }

    /// <summary>The runtime reservation <paramref name="token"/> names, when <paramref name="requester"/> is the process that acquired it.</summary>
    public Refusable<Reservation> FindHeld(ulong token, Principal requester)
    {
        if (_tokens.Find(token) is not { } reservation)
        {
            return new Refusal(PortReservationErrorKind.NotFound, $"token {token} does not name a live reservation: it was released, or its holder was gone when the daemon restarted");
        }

        return reservation.Owner is not { } owner
            ? new Refusal(PortReservationErrorKind.InvalidArgument, $"token {token} names persistent reservation {reservation.Block}, which is not held but used (associate sockets with it)")
            : owner.Principal.ProcessId != requester.ProcessId ? NotOwner(token) : reservation;
    }

    /// <summary>
    /// Checks that <paramref name="requester"/> may associate sockets of <paramref name="protocol"/> with the token's block.
    /// A persistent reservation's use is then granted to the requester's process for as long as <paramref name="holderId"/>
    /// (its connection) lasts: its own credentials, supplementary groups included, were what allowed it.
    /// </summary>
    public Refusable<Reservation> Authorize(ulong token, PortReservationProtocol? protocol, Principal requester, HolderId holderId)
    {
        if (_tokens.Find(token) is not { } reservation)
        {
            return UnknownToken(token);
        }

        if (!reservation.MayBeUsedBy(requester))
        {
            return reservation.Owner is null
                ? new Refusal(PortReservationErrorKind.AccessDenied, $"uid {requester.Uid} may not use persistent reservation {reservation.Block}: only administrators and the users and groups allowed when it was created may (portreserve add --allow-user/--allow-group)")
                : NotOwner(token);
        }

        if (protocol is { } p && p != reservation.Block.Protocol)
        {
            return new Refusal(PortReservationErrorKind.InvalidArgument, $"token {token} reserves {Name(reservation.Block.Protocol)} ports; the socket is {Name(p)}");
        }

        if (reservation.Owner is null && _changes is not null)
        {
            if (_uses.Grant(holderId, requester, reservation) is { } full)
            {
                return full;
            }

            _changes.Add(ReservationChange.UseGranted(reservation, holderId, requester.Pid));
        }

        return reservation;
    }

    /// <summary>Drops every runtime reservation of a holder that went away (its connection closed, its process exited).</summary>
    public IReadOnlyList<Reservation> ReleaseHolder(HolderId holderId)
    {
        IReadOnlyList<Reservation> held = _holders.Take(holderId);
        foreach (Reservation reservation in held)
        {
            Forget(reservation);
        }

        _uses.ReleaseHolder(holderId);
        _changes?.Add(ReservationChange.HolderGone(holderId));
        return held;
    }

    /// <summary>
    /// Names the process tree (a cgroup) of a runtime holder whose process is <paramref name="pid"/>: its reservations,
    /// those it holds and those it acquires later, may then be bound by every process in that cgroup.
    /// </summary>
    public void AssignProcessTree(HolderId holderId, int pid, ProcessTree tree) => _changes?.Add(ReservationChange.TreeAssigned(holderId, pid, tree));

    /// <summary>
    /// The process a holder speaks for exited while the holder lives on (a child kept its connection): the rights given
    /// to that process by pid go, before the pid can be another process's.
    /// </summary>
    public void HolderProcessExited(HolderId holderId)
    {
        _uses.ReleaseHolder(holderId);
        _changes?.Add(ReservationChange.ProcessExited(holderId));
    }

    /// <summary>True when changes wait for <see cref="TakeChanges"/>.</summary>
    public bool HasChanges => _changes is { Count: > 0 };

    /// <summary>Moves the changes made since the last call into <paramref name="destination"/>, in order.</summary>
    public void TakeChanges(List<ReservationChange> destination)
    {
        if (_changes is { Count: > 0 })
        {
            destination.AddRange(_changes);
            _changes.Clear();
        }
    }

    /// <summary>Drops every runtime reservation (shutdown).</summary>
    public IReadOnlyList<Reservation> ReleaseAllRuntime() => [.. _holders.Holders.ToList().SelectMany(ReleaseHolder)];

    /// <summary>
    /// Places a persistent reservation of exactly <paramref name="block"/>, pending: its ports are taken at once, but it
    /// is invisible (no lookup, listing, use or delete finds it) until <see cref="Publish"/>. Like an acquire, it may not
    /// overlap anything placed, a system exclusion, or a port in use.
    /// </summary>
    public Refusable<Reservation> PlacePersistent(PortBlock block, PersistentConsumers consumers, string? source = null)
    {
        if (block.Problem(wildcardAllowed: false) is { } problem)
        {
            return new Refusal(PortReservationErrorKind.InvalidArgument, problem);
        }

        return CheckUnreserved(block) ?? (Refusable<Reservation>)Add(new Reservation(block, _tokens.NewToken(), PortReservationKind.Persistent, owner: null, consumers, pending: true, source));
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
            _changes?.Add(ReservationChange.ConsumersChanged(declared));
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
        int taken = block.Range.IsValid ? Space(block.Protocol).Occupied.FirstIn(block.Range) : -2;
        if (taken != -1)
        {
            throw new InvalidDataException($"stored persistent reservation {block} is invalid or overlaps another stored one");
        }

        return Add(new Reservation(block, _tokens.NewToken(), PortReservationKind.Persistent, owner: null, consumers, source: source));
    }

    /// <summary>
    /// Puts a runtime reservation an earlier daemon granted back at start-up, visible, with its token, once its holder's
    /// process was proven alive. No in-use check, as its holder may have bound the ports; no quota check, as it was
    /// granted within one. Null (nothing placed) for one that overlaps what is placed already or whose token is.
    /// </summary>
    public Reservation? RestoreRuntime(PortBlock block, ulong token, ReservationOwner owner)
    {
        if (token == 0 || _tokens.IsTaken(token) || block.Problem(wildcardAllowed: false) is not null || Space(block.Protocol).Occupied.FirstIn(block.Range) != -1)
        {
            return null;
        }

        return Add(new Reservation(block, token, PortReservationKind.Runtime, owner));
    }

    /// <summary>The visible persistent reservation whose block is exactly <paramref name="block"/> (Windows lookup semantics).</summary>
    public Refusable<Reservation> FindPersistent(PortBlock block)
    {
        if (block.Problem(wildcardAllowed: false) is { } problem)
        {
            return new Refusal(PortReservationErrorKind.InvalidArgument, problem);
        }

        Reservation? holder = Space(block.Protocol).OwnerOf(block.Range.Start);
        return holder is { Kind: PortReservationKind.Persistent, IsPending: false } && holder.Block == block
            ? holder
            : new Refusal(PortReservationErrorKind.NotFound, $"no persistent {Name(block.Protocol)} reservation is exactly {block.Range} (lookup and delete take the start and count used at creation; portreserve show lists them)");
    }

    /// <summary>
    /// Takes a reservation out, whatever its kind: a deleted persistent one, a pending one whose creation failed, or a
    /// change the kernel refused. One already gone (its holder went away first) is left alone.
    /// </summary>
    public void Remove(Reservation reservation)
    {
        if (!_tokens.Contains(reservation))
        {
            return;
        }

        if (reservation.Owner is { } owner)
        {
            _holders.Remove(reservation, owner);
        }
        else
        {
            _uses.ReservationRemoved(reservation.Token);
        }

        Forget(reservation);
    }

    /// <summary>Adds ports found in the kernel list that the daemon did not put there.</summary>
    public void AddSystemExclusions(PortSet ports) => _system.Add(ports);

    public int LargestFreeWildcardBlock(PortReservationProtocol protocol) => _wildcard.LargestFreeBlock(Space(protocol).Occupied);

    public void CopyKernelPorts(PortSet all, PortSet reserved)
    {
        reserved.CopyFrom(_tcp.Occupied);
        reserved.UnionWith(_udp.Occupied);
        all.CopyFrom(reserved);
        all.UnionWith(_system.Ports);
    }

    private static string Name(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP";

    private static Refusal PrivilegedPorts(PortBlock requested, int unprivilegedStart)
        => new(PortReservationErrorKind.AccessDenied, $"{requested} includes {Name(requested.Protocol)} ports below {unprivilegedStart} (net.ipv4.ip_unprivileged_port_start), which only an administrator may reserve, as binding them needs CAP_NET_BIND_SERVICE; ask one for a persistent reservation allowed to you (portreserve add --allow-user), or reserve ports from {unprivilegedStart} up");

    private static Refusal UnknownToken(ulong token)
        => new(PortReservationErrorKind.InvalidArgument, $"token {token} does not name a live reservation");

    private static Refusal NotOwner(ulong token)
        => new(PortReservationErrorKind.AccessDenied, $"token {token} belongs to another process; only the process that acquired a runtime reservation may use or release it");

    /// <summary>Refuses a specific block that overlaps a placed reservation or a system exclusion; whether its ports are in use is for <see cref="Confirm"/>.</summary>
    private Refusal? CheckUnreserved(PortBlock block)
    {
        ProtocolSpace space = Space(block.Protocol);
        int taken = space.Occupied.FirstIn(block.Range);
        if (taken >= 0)
        {
            return new Refusal(PortReservationErrorKind.AddressAlreadyInUse, $"{block} overlaps {space.OwnerOf(taken)?.Describe()}");
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

    private static Refusal InUse(PortReservationProtocol protocol, int port)
        => new(PortReservationErrorKind.AddressAlreadyInUse, $"{Name(protocol)} port {port} is in use: a socket in this network namespace has it bound");

    private Reservation Add(Reservation reservation)
    {
        _changes?.Add(ReservationChange.Added(reservation));
        _tokens.Add(reservation);
        Space(reservation.Block.Protocol).Add(reservation);
        if (reservation.Owner is { } owner)
        {
            _holders.Add(reservation, owner);
            _quotas.Add(owner, reservation.Block.Range.Count);
        }

        return reservation;
    }

    /// <summary>Takes a reservation out of the token index, its port space and its owner's quota (its holder is already done with).</summary>
    private void Forget(Reservation reservation)
    {
        _changes?.Add(ReservationChange.Removed(reservation));
        _tokens.Remove(reservation);
        Space(reservation.Block.Protocol).Remove(reservation);
        if (reservation.Owner is { } owner)
        {
            _quotas.Remove(owner, reservation.Block.Range.Count);
        }
    }

    private ProtocolSpace Space(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? _tcp : _udp;
}
