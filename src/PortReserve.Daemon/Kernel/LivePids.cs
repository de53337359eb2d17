using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The bind hook's live map as the sink keeps it: how many policies name each tgid, and which of those the map refused
/// to take. The hook honours a policy's tgid only while the tgid is live; the exit program takes it out as the process
/// exits, before the daemon hears of it.
/// </summary>
internal sealed class LivePids
{
    private readonly Dictionary<uint, int> _counts = [];
    private readonly HashSet<uint> _unwritten = [];

    /// <summary>
    /// Counts the policies naming <paramref name="tgid"/>: each new one puts it in the live map (again: the exit program
    /// may have taken it out for an earlier process with that pid, whose exit the daemon has not heard of yet), the last
    /// takes it out.
    /// </summary>
    public void Change(BindHookMaps maps, uint tgid, int change)
    {
        int count = _counts.GetValueOrDefault(tgid) + change;
        if (count <= 0)
        {
            _counts.Remove(tgid);
            _unwritten.Remove(tgid);
            maps.RemoveLive(tgid);
            return;
        }

        if (change > 0 && !maps.AddLive(tgid))
        {
            _unwritten.Add(tgid);
        }
        else if (change > 0)
        {
            _unwritten.Remove(tgid);
        }

        _counts[tgid] = count;
    }

    /// <summary>
    /// Makes the live map hold no tgid nobody names, and the named ones the map refused before. A tgid written once is not
    /// written again: the exit program may have taken it out since, as that process exited, and putting it back would
    /// hand its rights to whichever process gets the pid next.
    /// </summary>
    public void Rewrite(BindHookMaps maps)
    {
        maps.KeepOnly(maps.Live, sizeof(uint), key => _counts.ContainsKey(BitConverter.ToUInt32(key)));
        _unwritten.RemoveWhere(tgid => !_counts.ContainsKey(tgid) || maps.AddLive(tgid));
    }
}
