using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Kernel list entries the daemon did not create (the administrator's own, like the Windows "administered port
/// exclusions"): never handed out, always written back, and never removed.
/// </summary>
internal sealed class SystemExclusions
{
    private static readonly Comparer<PortRange> s_containing = Comparer<PortRange>.Create((a, b) => a.End < b.Start ? -1 : a.Start > b.End ? 1 : 0);
    private List<PortRange> _ranges = [];

    public PortSet Ports { get; } = new();

    public IReadOnlyList<PortRange> Ranges => _ranges;

    public void Add(PortSet ports)
    {
        Ports.UnionWith(ports);
        _ranges = [.. Ports.Ranges()];
    }

    /// <summary>Refuses <paramref name="block"/> when it overlaps an exclusion, naming the exclusion.</summary>
    public Refusal? CheckFree(PortBlock block)
    {
        int excluded = Ports.FirstIn(block.Range);
        if (excluded < 0)
        {
            return null;
        }

        int index = _ranges.BinarySearch(new PortRange(excluded, 1), s_containing);
        PortRange range = index >= 0 ? _ranges[index] : new PortRange(excluded, 1);
        return new Refusal(PortReservationErrorKind.AddressAlreadyInUse, $"{block} overlaps system exclusion {range} (an entry of ip_local_reserved_ports that portreserved did not create)");
    }
}
