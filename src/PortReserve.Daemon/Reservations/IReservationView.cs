using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>What may be read of the table while its owner holds the lock: listings, counts and free space, never changes.</summary>
internal interface IReservationView
{
    /// <summary>Every visible reservation (pending persistent ones are not yet).</summary>
    IEnumerable<Reservation> Reservations { get; }

    IReadOnlyList<PortRange> SystemExclusions { get; }

    ReservationCounts Counts { get; }

    PortRange WildcardRange { get; }

    QuotaPolicy Quotas { get; }

    /// <summary>The longest run of ports in the wildcard range free in the table and not excluded (sockets' use not probed).</summary>
    int LargestFreeWildcardBlock(PortReservationProtocol protocol);

    /// <summary>Every port the kernel list must hold: <paramref name="all"/> gets reservations and exclusions, <paramref name="reserved"/> the reservations only.</summary>
    void CopyKernelPorts(PortSet all, PortSet reserved);
}
