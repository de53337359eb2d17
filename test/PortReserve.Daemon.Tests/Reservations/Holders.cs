using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests;

/// <summary>Holders as the tests number them: a positive number is a client connection, a negative one a portserver grant.</summary>
internal static class Holders
{
    public static HolderId Holder(long number) => number > 0 ? HolderId.Connection(number) : HolderId.PortServerGrant(-number);

    /// <summary>Holder <paramref name="number"/>, held by process <paramref name="pid"/> (its lasting identity the same number) of user <paramref name="uid"/> (and group).</summary>
    public static ReservationOwner Owner(long number, int pid, uint uid, bool administrator = false, bool exclusive = true)
        => new(Holder(number), new Principal(pid, (ulong)pid, uid, uid, [uid], administrator), exclusive);
}
