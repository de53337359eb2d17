using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Process trees of runtime holders, as cgroups the bind hook recognises: a holder's process is moved into a new cgroup
/// beneath the one it is in (so it stays inside whatever unit a service manager put it in), and every process it starts
/// from then on is born there. The cgroup is removed when the holder goes: a process still running in it goes back to
/// the cgroup it came from. A process that has exited but is not yet reaped by its parent still counts as in the cgroup
/// and cannot be moved, so a cgroup that is still busy is retried until it is empty. The cgroups made are recorded in
/// the state directory, so a daemon that was killed has what it left behind removed at its next start.
/// </summary>
internal sealed class ProcessTrees : IDisposable
{
    private static readonly TimeSpan s_retryInterval = TimeSpan.FromMilliseconds(250);

    private readonly CgroupHierarchy _cgroups;
    private readonly string _recordPath;
    private readonly Dictionary<long, string> _byHolder = [];
    private readonly List<string> _busy = [];
    private readonly ITimer _retry;
    private readonly string _prefix = $"portreserve-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-";

    /// <param name="cgroups">The hierarchy the cgroups are made in.</param>
    /// <param name="recordPath">Where the cgroups made are listed (in the state directory); those an earlier run left are removed now.</param>
    /// <param name="time">The clock of the retries.</param>
    public ProcessTrees(CgroupHierarchy cgroups, string recordPath, TimeProvider time)
    {
        _cgroups = cgroups;
        _recordPath = recordPath;
        _retry = time.CreateTimer(_ => RetryBusy(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_byHolder)
        {
            string[] leftovers = ReadRecord(recordPath);
            _busy.AddRange(leftovers.Where(cgroup => IsOurs(cgroups, cgroup) && !TryRemove(cgroup)));
            Saved();
            if (_busy.Count > 0)
            {
                _retry.Change(s_retryInterval, s_retryInterval);
            }
        }
    }

    /// <summary>Cgroups waiting for their last processes to be reaped before they can be removed.</summary>
    public int Busy
    {
        get
        {
            lock (_byHolder)
            {
                return _busy.Count;
            }
        }
    }

    /// <summary>Moves <paramref name="pid"/> into a cgroup of its own for <paramref name="holderId"/>; returns the cgroup's id.</summary>
    public ulong Create(long holderId, int pid)
    {
        lock (_byHolder)
        {
            if (_byHolder.TryGetValue(holderId, out string? existing))
            {
                return CgroupHierarchy.IdOf(existing);
            }

            string cgroup = CgroupHierarchy.Create(_cgroups.CgroupOf(pid), _prefix + holderId.ToString(CultureInfo.InvariantCulture));
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
            Saved();
            return CgroupHierarchy.IdOf(cgroup);
        }
    }

    /// <summary>The holder went away: its cgroup goes, now or once its exited processes are reaped.</summary>
    public void Remove(long holderId)
    {
        lock (_byHolder)
        {
            if (!_byHolder.Remove(holderId, out string? cgroup))
            {
                return;
            }

            if (!TryRemove(cgroup))
            {
                _busy.Add(cgroup);
                _retry.Change(s_retryInterval, s_retryInterval);
            }

            Saved();
        }
    }

    /// <summary>Removes what can be removed; a cgroup left busy (a process still running in it) stays, harmless and empty soon.</summary>
    public void Dispose()
    {
        _retry.Dispose();
        lock (_byHolder)
        {
            // What is still busy stays recorded, for the next start.
            _busy.RemoveAll(TryRemove);
            _busy.AddRange(_byHolder.Values.Where(cgroup => !TryRemove(cgroup)));
            _byHolder.Clear();
            Saved();
        }
    }

    private void RetryBusy()
    {
        lock (_byHolder)
        {
            if (_busy.RemoveAll(TryRemove) > 0)
            {
                Saved();
            }

            if (_busy.Count == 0)
            {
                _retry.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>A path from the record names a cgroup this daemon makes: under the hierarchy, and named as it names them.</summary>
    private static bool IsOurs(CgroupHierarchy cgroups, string path)
        => path.StartsWith(cgroups.Root + "/", StringComparison.Ordinal) && !path.Contains("/../", StringComparison.Ordinal) && Path.GetFileName(path).StartsWith("portreserve-", StringComparison.Ordinal);

    /// <summary>Rewrites the record: every cgroup made and not yet removed. Call under the lock.</summary>
    private void Saved()
    {
        string[] cgroups = [.. _byHolder.Values, .. _busy];
        if (cgroups.Length == 0)
        {
            File.Delete(_recordPath);
            return;
        }

        // A fresh file (O_EXCL, never through a link someone left there), then renamed over the record.
        string next = _recordPath + ".new";
        File.Delete(next);
        using (SafeFileHandle file = Interop.Libc.OpenNoFollow(next, Interop.Libc.O_WRONLY | Interop.Libc.O_CREAT | Interop.Libc.O_EXCL))
        {
            RandomAccess.Write(file, System.Text.Encoding.UTF8.GetBytes(string.Join('\n', cgroups) + "\n"), 0);
        }

        File.Move(next, _recordPath, overwrite: true);
    }

    /// <summary>The cgroups an earlier run recorded; the record is read only if it is a file of its own, not a link.</summary>
    private static string[] ReadRecord(string path)
    {
        try
        {
            using SafeFileHandle file = Interop.Libc.OpenNoFollow(path, Interop.Libc.O_RDONLY);
            using var reader = new StreamReader(new FileStream(file, FileAccess.Read));
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    private static bool TryRemove(string cgroup)
    {
        try
        {
            CgroupHierarchy.Remove(cgroup);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            // EBUSY: a process in it is exiting and not yet reaped, or was just born there.
            return false;
        }
    }
}
