using System.Globalization;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Process trees of runtime holders, as cgroups the bind hook recognises: a holder's process is moved into a new cgroup
/// beneath the one it is in (so it stays inside whatever unit a service manager put it in), and every process it starts
/// from then on is born there. The cgroup is removed when the holder goes; a process still in it goes back to the
/// cgroup it came from.
/// </summary>
internal sealed class ProcessTrees(CgroupHierarchy cgroups) : IDisposable
{
    private readonly Dictionary<long, string> _byHolder = [];
    private readonly string _prefix = $"portreserve-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-";

    /// <summary>Moves <paramref name="pid"/> into a cgroup of its own for <paramref name="holderId"/>; returns the cgroup's id.</summary>
    public ulong Create(long holderId, int pid)
    {
        lock (_byHolder)
        {
            if (_byHolder.TryGetValue(holderId, out string? existing))
            {
                return CgroupHierarchy.IdOf(existing);
            }

            string cgroup = CgroupHierarchy.Create(cgroups.CgroupOf(pid), _prefix + holderId.ToString(CultureInfo.InvariantCulture));
            try
            {
                CgroupHierarchy.Move(pid, cgroup);
            }
            catch
            {
                Directory.Delete(cgroup);
                throw;
            }

            _byHolder[holderId] = cgroup;
            return CgroupHierarchy.IdOf(cgroup);
        }
    }

    /// <summary>The holder went away: its cgroup goes, and anything still running in it returns to the cgroup it came from.</summary>
    public void Remove(long holderId)
    {
        string? cgroup;
        lock (_byHolder)
        {
            if (!_byHolder.Remove(holderId, out cgroup))
            {
                return;
            }
        }

        TryRemove(cgroup);
    }

    public void Dispose()
    {
        lock (_byHolder)
        {
            foreach (string cgroup in _byHolder.Values)
            {
                TryRemove(cgroup);
            }

            _byHolder.Clear();
        }
    }

    private static void TryRemove(string cgroup)
    {
        try
        {
            CgroupHierarchy.Remove(cgroup);
        }
        catch (IOException)
        {
            // A process was moving in as it was emptied (EBUSY); an empty cgroup left behind costs nothing.
        }
    }
}
