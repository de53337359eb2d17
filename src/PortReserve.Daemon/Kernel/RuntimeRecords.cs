using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The records of runtime reservations in the bind hook's pinned <c>runtime</c> map, which the next daemon restores
/// them from (<see cref="RuntimeRecord"/>), kept by holder here as well: a holder's new process tree rewrites all of its
/// records, and a holder whose process exited has them all taken out, as no process could prove it is that holder now.
/// </summary>
internal sealed class RuntimeRecords
{
    private readonly Dictionary<HolderId, Dictionary<ulong, RuntimeRecord>> _byHolder = [];

    /// <summary>Every record, as the map should hold them.</summary>
    public IEnumerable<RuntimeRecord> All => _byHolder.Values.SelectMany(records => records.Values);

    /// <summary>Records a reservation as placed, with its holder's process tree if it has one.</summary>
    public void Add(BindHookMaps maps, ulong token, PortBlock block, ReservationOwner owner, ProcessTree tree)
    {
        var record = new RuntimeRecord(token, block, owner, tree);
        maps.SetRecord(record);
        if (!_byHolder.TryGetValue(owner.HolderId, out Dictionary<ulong, RuntimeRecord>? records))
        {
            _byHolder[owner.HolderId] = records = [];
        }

        records[record.Token] = record;
    }

    public void Remove(BindHookMaps maps, ulong token, ReservationOwner owner)
    {
        if (_byHolder.TryGetValue(owner.HolderId, out Dictionary<ulong, RuntimeRecord>? records) && records.Remove(token))
        {
            maps.DeleteRecord(token);
            if (records.Count == 0)
            {
                _byHolder.Remove(owner.HolderId);
            }
        }
    }

    /// <summary>The holder's process tree was named: each of its records says so.</summary>
    public void TreeAssigned(BindHookMaps maps, HolderId holderId, ProcessTree tree)
    {
        if (_byHolder.TryGetValue(holderId, out Dictionary<ulong, RuntimeRecord>? records))
        {
            foreach (RuntimeRecord record in records.Values.ToList())
            {
                RuntimeRecord moved = record with { Tree = tree };
                maps.SetRecord(moved);
                records[record.Token] = moved;
            }
        }
    }

    /// <summary>The holder's process exited while the holder lives on: a restarted daemon is to restore none of its reservations.</summary>
    public void ProcessExited(BindHookMaps maps, HolderId holderId)
    {
        if (_byHolder.Remove(holderId, out Dictionary<ulong, RuntimeRecord>? records))
        {
            foreach (ulong token in records.Keys)
            {
                maps.DeleteRecord(token);
            }
        }
    }
}
