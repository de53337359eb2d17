using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>One live block in the table. Runtime reservations have an owner; persistent ones do not.</summary>
internal sealed class Reservation(PortReservationProtocol protocol, PortRange range, ulong token, PortReservationKind kind, ReservationOwner? owner)
{
    public PortReservationProtocol Protocol { get; } = protocol;

    public PortRange Range { get; } = range;

    public ulong Token { get; } = token;

    public PortReservationKind Kind { get; } = kind;

    public ReservationOwner? Owner { get; } = owner;

    /// <summary>How a conflict message names this block's holder.</summary>
    public string Describe() => Owner is { } owner
        ? $"{Kind.ToString().ToLowerInvariant()} reservation {Protocol.ToString().ToUpperInvariant()} {Range} held by pid {owner.Pid} (uid {owner.Uid})"
        : $"{Kind.ToString().ToLowerInvariant()} reservation {Protocol.ToString().ToUpperInvariant()} {Range}";
}
