using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// One block in the table. Runtime reservations have an owner; persistent ones have consumers instead. A persistent
/// reservation is placed pending (its ports are taken, but nobody sees it) until its store write and kernel commit are
/// done, then published. A persistent reservation declared in a reservations.d file names its line (<see cref="Source"/>).
/// </summary>
internal sealed class Reservation(
    PortBlock block, ulong token, PortReservationKind kind, ReservationOwner? owner, PersistentConsumers? consumers = null, bool pending = false, string? source = null, bool chosen = false)
{
    public PortBlock Block { get; } = block;

    public ulong Token { get; } = token;

    public PortReservationKind Kind { get; } = kind;

    public ReservationOwner? Owner { get; } = owner;

    /// <summary>Who besides administrators may consume a persistent reservation; null for runtime ones.</summary>
    public PersistentConsumers? Consumers { get; private set; } = consumers;

    /// <summary>
    /// <c>FILE:LINE</c> of the reservations.d line that declares this persistent reservation; null for one created with
    /// <c>portreserve add</c> (and for runtime ones). Declared reservations change only when their files do.
    /// </summary>
    public string? Source { get; private set; } = source;

    /// <summary>True when the daemon chose the block (a wildcard request): one found in use is replaced by another.</summary>
    public bool Chosen { get; } = chosen;

    /// <summary>True while a persistent reservation is being created: it holds its ports but is not visible yet.</summary>
    public bool IsPending { get; private set; } = pending;

    /// <summary>True when <paramref name="requester"/> may associate sockets with this block (and see its token).</summary>
    public bool MayBeUsedBy(Principal requester) => Owner is { } o ? o.Principal.ProcessId == requester.ProcessId : Consumers?.Allows(requester) == true;

    /// <summary>How a conflict message names this block's holder.</summary>
    public string Describe()
    {
        string what = $"{(Kind == PortReservationKind.Persistent ? "persistent" : "runtime")} reservation {Block}{(Source is null ? string.Empty : $" declared at {Source}")}";
        return Owner is { } o ? $"{what} held by pid {o.Principal.Pid} (uid {o.Principal.Uid})" : IsPending ? $"{what} (being created)" : what;
    }

    /// <summary>A pending persistent reservation becomes visible; called by the table that placed it.</summary>
    internal void Publish() => IsPending = false;

    /// <summary>A declared reservation's line moved or its allow-lists changed; called by the table, which journals it.</summary>
    internal void Redeclare(PersistentConsumers consumers, string source)
    {
        Consumers = consumers;
        Source = source;
    }
}
