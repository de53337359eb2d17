using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests;

/// <summary>Holders as the tests number them: a positive number is a client connection, a negative one a portserver grant.</summary>
internal static class Holders
{
    public static HolderId Holder(long number) => number > 0 ? HolderId.Connection(number) : HolderId.PortServerGrant(-number);
}
