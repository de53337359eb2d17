using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The table's refusals: each names its error kind and says what happened and what to do, in one place, so that a
/// message reads the same wherever the table gives it.
/// </summary>
internal static class TableRefusals
{
    public static Refusal Invalid(string problem) => new(PortReservationErrorKind.InvalidArgument, problem);

    public static Refusal NoFreeBlock(PortBlock requested, PortRange wildcardRange)
        => new(PortReservationErrorKind.NoBufferSpaceAvailable, $"no free block of {requested.Range.Count} consecutive {Name(requested.Protocol)} port(s) in the wildcard range {wildcardRange}: release reservations, ask for fewer ports, or widen --wildcard-range");

    public static Refusal NoFreeBlockInBoth(int count, PortRange wildcardRange)
        => new(PortReservationErrorKind.NoBufferSpaceAvailable, $"no {count} consecutive port(s) free on both TCP and UDP in the wildcard range {wildcardRange}");

    public static Refusal PrivilegedPorts(PortBlock requested, int unprivilegedStart)
        => new(PortReservationErrorKind.AccessDenied, $"{requested} includes {Name(requested.Protocol)} ports below {unprivilegedStart} (net.ipv4.ip_unprivileged_port_start), which only an administrator may reserve, as binding them needs CAP_NET_BIND_SERVICE; ask one for a persistent reservation allowed to you (portreserve add --allow-user), or reserve ports from {unprivilegedStart} up");

    public static Refusal Overlaps(PortBlock block, Reservation? placed)
        => new(PortReservationErrorKind.AddressAlreadyInUse, $"{block} overlaps {placed?.Describe()}");

    public static Refusal InUse(PortReservationProtocol protocol, int port)
        => new(PortReservationErrorKind.AddressAlreadyInUse, $"{Name(protocol)} port {port} is in use: a socket in this network namespace has it bound");

    public static Refusal ReleasedBeforeGranted(PortBlock block)
        => new(PortReservationErrorKind.Aborted, $"{block} was released before it was granted: its holder went away");

    public static Refusal UnknownToken(ulong token)
        => new(PortReservationErrorKind.InvalidArgument, $"token {token} does not name a live reservation");

    /// <summary>A token a client re-attaches with that names nothing now.</summary>
    public static Refusal NotLive(ulong token)
        => new(PortReservationErrorKind.NotFound, $"token {token} does not name a live reservation: it was released, or its holder was gone when the daemon restarted");

    public static Refusal NotOwner(ulong token)
        => new(PortReservationErrorKind.AccessDenied, $"token {token} belongs to another process; only the process that acquired a runtime reservation may use or release it");

    public static Refusal PersistentIsDeleted(ulong token, PortBlock block)
        => new(PortReservationErrorKind.InvalidArgument, $"token {token} names persistent reservation {block}, which is not released but deleted (portreserve delete)");

    public static Refusal PersistentIsUsed(ulong token, PortBlock block)
        => new(PortReservationErrorKind.InvalidArgument, $"token {token} names persistent reservation {block}, which is not held but used (associate sockets with it)");

    public static Refusal NotAConsumer(uint uid, PortBlock block)
        => new(PortReservationErrorKind.AccessDenied, $"uid {uid} may not use persistent reservation {block}: only administrators and the users and groups allowed when it was created may (portreserve add --allow-user/--allow-group)");

    public static Refusal OtherProtocol(ulong token, PortReservationProtocol reserved, PortReservationProtocol socket)
        => new(PortReservationErrorKind.InvalidArgument, $"token {token} reserves {Name(reserved)} ports; the socket is {Name(socket)}");

    public static Refusal NoPersistentExactly(PortBlock block)
        => new(PortReservationErrorKind.NotFound, $"no persistent {Name(block.Protocol)} reservation is exactly {block.Range} (lookup and delete take the start and count used at creation; portreserve show lists them)");

    private static string Name(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP";
}
