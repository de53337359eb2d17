using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

internal sealed partial class ReservationTable
{
    private readonly PortSet _system = new();
    private List<PortRange> _systemRanges = [];

    /// <summary>Kernel list entries the daemon did not create: never handed out, always written back.</summary>
    public IReadOnlyList<PortRange> SystemExclusions => _systemRanges;

    /// <summary>Adds ports found in the kernel list that the daemon did not put there.</summary>
    public void AddSystemExclusions(PortSet ports)
    {
        _system.UnionWith(ports);
        _systemRanges = [.. _system.Ranges()];
    }

    /// <summary>Every port the kernel list must hold: all reservations of both protocols and the system exclusions.</summary>
    public void CopyKernelPorts(PortSet destination)
    {
        destination.CopyFrom(_system);
        destination.UnionWith(_tcp.Occupied);
        destination.UnionWith(_udp.Occupied);
    }

    /// <summary>The ports held by reservations of both protocols (the kernel entries the daemon owns).</summary>
    public void CopyReservedPorts(PortSet destination)
    {
        destination.CopyFrom(_tcp.Occupied);
        destination.UnionWith(_udp.Occupied);
    }

    private PortRange SystemRangeContaining(int port)
    {
        int index = _systemRanges.BinarySearch(new PortRange(port, 1), Comparer<PortRange>.Create((a, b) => a.End < b.Start ? -1 : a.Start > b.End ? 1 : 0));
        return index >= 0 ? _systemRanges[index] : new PortRange(port, 1);
    }
}
