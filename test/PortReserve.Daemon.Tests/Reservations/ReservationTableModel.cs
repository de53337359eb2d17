using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>The obvious, slow reference: a dictionary from (protocol, port) to the token holding it.</summary>
internal sealed class ReservationTableModel(PortRange wildcardRange)
{
    public Dictionary<(PortReservationProtocol Protocol, int Port), ulong> Holders { get; } = [];

    public Dictionary<ulong, (PortReservationProtocol Protocol, PortRange Range, long Connection, int Pid)> Live { get; } = [];

    public HashSet<int> System { get; } = [];

    public bool IsFree(PortReservationProtocol protocol, int port, FakePortUsage usage)
        => !Holders.ContainsKey((protocol, port)) && !System.Contains(port) && !usage.InUse.Contains((protocol, port));

    public bool IsFree(PortReservationProtocol protocol, PortRange range, FakePortUsage usage)
        => Enumerable.Range(range.Start, range.Count).All(p => IsFree(protocol, p, usage));

    public bool AnyFreeBlock(PortReservationProtocol protocol, int count, FakePortUsage usage)
    {
        int run = 0;
        for (int port = wildcardRange.Start; port <= wildcardRange.End; port++)
        {
            run = IsFree(protocol, port, usage) ? run + 1 : 0;
            if (run >= count)
            {
                return true;
            }
        }

        return false;
    }

    public void Add(ulong token, PortReservationProtocol protocol, PortRange range, long connection, int pid)
    {
        Live.Add(token, (protocol, range, connection, pid));
        for (int port = range.Start; port <= range.End; port++)
        {
            Holders.Add((protocol, port), token);
        }
    }

    public void Remove(ulong token)
    {
        (PortReservationProtocol protocol, PortRange range, _, _) = Live[token];
        Live.Remove(token);
        for (int port = range.Start; port <= range.End; port++)
        {
            Holders.Remove((protocol, port));
        }
    }

    public SortedSet<int> KernelPorts() => [.. Holders.Keys.Select(k => k.Port).Concat(System)];
}
