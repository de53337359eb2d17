namespace PortReserve;

/// <summary>One reserved block as the daemon lists it (like a line of <c>netsh int ipv4 show excludedportrange</c>).</summary>
public sealed class PortReservationInfo
{
    /// <summary>The protocol whose port space the block is in.</summary>
    public required PortReservationProtocol Protocol { get; init; }

    /// <summary>The first port of the block.</summary>
    public required int StartPort { get; init; }

    /// <summary>The number of ports in the block.</summary>
    public required int Count { get; init; }

    /// <summary>The last port of the block.</summary>
    public int EndPort => StartPort + Count - 1;

    /// <summary>Runtime, persistent, or a system exclusion.</summary>
    public required PortReservationKind Kind { get; init; }

    /// <summary>The owning process of a runtime reservation; null otherwise.</summary>
    public int? OwnerPid { get; init; }

    /// <summary>The owning user of a runtime reservation; null otherwise.</summary>
    public uint? OwnerUid { get; init; }

    /// <summary>The token, when the caller may use it; null when hidden.</summary>
    public ulong? Token { get; init; }

    /// <summary>For a persistent reservation: the users, besides administrators, allowed to consume it.</summary>
    public IReadOnlyList<string> AllowedUsers { get; init; } = [];

    /// <summary>For a persistent reservation: the groups whose members may consume it.</summary>
    public IReadOnlyList<string> AllowedGroups { get; init; } = [];

    /// <summary>
    /// For a persistent reservation declared in a reservations.d file: where, as <c>FILE:LINE</c> (edit that line and
    /// reload to change it); null for every other reservation.
    /// </summary>
    public string? Source { get; init; }
}
