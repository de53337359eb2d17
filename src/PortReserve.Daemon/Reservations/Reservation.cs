using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>One live block in the table. Runtime reservations have an owner; persistent ones have consumers instead.</summary>
internal sealed class Reservation(PortReservationProtocol protocol, PortRange range, ulong token, PortReservationKind kind, ReservationOwner? owner, PersistentConsumers? consumers = null)
{
    public PortReservationProtocol Protocol { get; } = protocol;

    public PortRange Range { get; } = range;

    public ulong Token { get; } = token;

    public PortReservationKind Kind { get; } = kind;

    public ReservationOwner? Owner { get; } = owner;

    /// <summary>Who besides administrators may consume a persistent reservation; null for runtime ones.</summary>
    public PersistentConsumers? Consumers { get; } = consumers;

    /// <summary>True when <paramref name="requester"/> may associate sockets with this block (and see its token).</summary>
    public bool MayBeUsedBy(Requester requester) => Owner is { } owner ? owner.Pid == requester.Pid : Consumers?.Allows(requester) == true;

    /// <summary>How a conflict message names this block's holder.</summary>
    public string Describe() => Owner is { } owner
        ? $"{Kind.ToString().ToLowerInvariant()} reservation {Protocol.ToString().ToUpperInvariant()} {Range} held by pid {owner.Pid} (uid {owner.Uid})"
        : $"{Kind.ToString().ToLowerInvariant()} reservation {Protocol.ToString().ToUpperInvariant()} {Range}";
}
