using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Process trees of runtime holders, as cgroups the bind hook recognises: a holder's process is moved into a new cgroup
/// beneath the one it is in (so it stays inside whatever unit a service manager put it in), and every process it starts
/// from then on is born there, or in cgroups beneath it, which the hook counts as the tree too.
/// <list type="bullet">
/// <item>The process is named by its pidfd, checked alive before it is moved and after: a process whose pid was reused
/// is never moved (or is moved back at once).</item>
/// <item>A process already in a tree made for it shares that tree with its new holder: asking again and again makes one
/// cgroup, not a chain. A tree inside another holder's tree nests, at most <see cref="MaxNesting"/> deep.</item>
/// <item>Names are unguessable and a cgroup that exists already is never used, so nobody can prepare one in a subtree
/// delegated to them.</item>
/// <item>A tree goes when its last holder does, with the cgroups its processes made beneath it, its processes moved
/// back where it came from. A process exited but not yet reaped still counts as in the cgroup and cannot be moved, so a
/// busy one is retried until it is empty; the trees made are recorded in the state directory, so a daemon that was
/// killed has what it left behind removed at its next start.</item>
/// </list>
/// </summary>
internal sealed class ProcessTrees : IDisposable
{
    public const int MaxNesting = 8;
    private static readonly TimeSpan s_retryInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_reapWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_reapStep = TimeSpan.FromMilliseconds(20);

    private readonly CgroupHierarchy _cgroups;
    private readonly string _recordPath;
    private readonly Dictionary<HolderId, Tree> _byHolder = [];
    private readonly Dictionary<string, Tree> _byPath = new(StringComparer.Ordinal);
    private readonly List<string> _busy = [];
    private readonly ITimer _retry;
    private readonly string _prefix = $"portreserve-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-";
    private bool _kept;

    /// <param name="cgroups">The hierarchy the cgroups are made in.</param>
    /// <param name="recordPath">Where the cgroups made are listed (in the state directory); those an earlier run left are removed now.</param>
    /// <param name="time">The clock of the retries.</param>
    /// <param name="restored">The trees of holders restored from an earlier run: those stay, theirs again.</param>
    public ProcessTrees(CgroupHierarchy cgroups, string recordPath, TimeProvider time, IEnumerable<(HolderId HolderId, ulong ProcessId, ProcessTree Tree)>? restored = null)
    {
        _cgroups = cgroups;
        _recordPath = recordPath;
        _retry = time.CreateTimer(_ => RetryBusy(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_byHolder)
        {
            string[] recorded = [.. ProcessTreeRecord.Read(recordPath).Where(cgroup => IsOurs(cgroups, cgroup))];
            Adopt(recorded, restored ?? []);

            // Deepest first, so that a nested tree goes before the one around it.
            string[] leftovers = [.. recorded.Where(cgroup => !_byPath.ContainsKey(cgroup)).OrderByDescending(cgroup => cgroup.Length)];
            _busy.AddRange(leftovers.Where(cgroup => !TryRemove(cgroup)));
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

    /// <summary>
    /// Gives <paramref name="holderId"/> a process tree rooted at the process behind <paramref name="pidfd"/> (pid
    /// <paramref name="pid"/>, identity <paramref name="processId"/>), moving it into a new cgroup unless it is in one
    /// made for it already. Throws <see cref="IOException"/> when the process is gone or the tree cannot be made.
    /// </summary>
    public ProcessTree Create(HolderId holderId, ulong processId, int pid, SafeFileHandle pidfd)
    {
        lock (_byHolder)
        {
            if (_byHolder.TryGetValue(holderId, out Tree? existing))
            {
                return existing.Cgroup;
            }

            // Read by pid, so it counts only if the pidfd's process still holds that pid afterwards.
            string current = _cgroups.CgroupOf(pid);
            EnsureAlive(pidfd, pid);
            Tree tree = _byPath.TryGetValue(current, out Tree? own) && own.ProcessId == processId ? own : Make(current, processId, pid, pidfd);
            tree.Holders.Add(holderId);
            _byHolder[holderId] = tree;
            return tree.Cgroup;
        }
    }

    /// <summary>The holder went away: its tree goes with its last holder, now or once its exited processes are reaped.</summary>
    public void Remove(HolderId holderId)
    {
        lock (_byHolder)
        {
            if (!_byHolder.Remove(holderId, out Tree? tree) || !tree.Holders.Remove(holderId) || tree.Holders.Count > 0)
            {
                return;
            }

            _byPath.Remove(tree.Path);
            if (!TryRemove(tree.Path))
            {
                _busy.Add(tree.Path);
                _retry.Change(s_retryInterval, s_retryInterval);
            }

            Saved();
        }
    }

    /// <summary>
    /// The daemon stops and leaves its holders' reservations to the next one: the trees stay as they are, recorded, for
    /// the next daemon to take back (<see cref="ProcessTrees(CgroupHierarchy, string, TimeProvider, IEnumerable{ValueTuple{HolderId, ulong, ProcessTree}}?)"/>).
    /// </summary>
    public void KeepForTheNextDaemon()
    {
        lock (_byHolder)
        {
            _kept = true;
        }
    }

    /// <summary>
    /// Removes the trees, unless kept for the next daemon, and in any case those whose holders are gone already. A tree
    /// left busy by processes still being reaped is waited for a moment (<see cref="s_reapWait"/>), and what is busy
    /// after that stays recorded, for the next start.
    /// </summary>
    public void Dispose()
    {
        _retry.Dispose();
        lock (_byHolder)
        {
            if (!_kept)
            {
                _busy.AddRange(_byPath.Keys.OrderByDescending(path => path.Length));
                _byPath.Clear();
                _byHolder.Clear();
            }

            _busy.RemoveAll(TryRemove);
            for (TimeSpan waited = TimeSpan.Zero; _busy.Count > 0 && waited < s_reapWait; waited += s_reapStep)
            {
                Thread.Sleep(s_reapStep);
                _busy.RemoveAll(TryRemove);
            }

            Saved();
        }
    }

    /// <summary>Takes the recorded cgroups that are restored holders' trees back (by cgroup id), for those holders.</summary>
    private void Adopt(string[] recorded, IEnumerable<(HolderId HolderId, ulong ProcessId, ProcessTree Tree)> restored)
    {
        var byId = new Dictionary<ulong, string>();
        foreach (string path in recorded)
        {
            try
            {
                byId[CgroupHierarchy.IdOf(path)] = path;
            }
            catch (IOException)
            {
                // Gone already.
            }
        }

        foreach ((HolderId holderId, ulong processId, ProcessTree cgroup) in restored)
        {
            if (byId.TryGetValue(cgroup.CgroupId, out string? path))
            {
                if (!_byPath.TryGetValue(path, out Tree? tree))
                {
                    _byPath[path] = tree = new Tree(path, cgroup, processId);
                }

                tree.Holders.Add(holderId);
                _byHolder[holderId] = tree;
            }
        }
    }

    private Tree Make(string parent, ulong processId, int pid, SafeFileHandle pidfd)
    {
        int nesting = _byPath.Keys.Count(path => parent == path || parent.StartsWith(path + "/", StringComparison.Ordinal));
        if (nesting >= MaxNesting)
        {
            throw new IOException($"pid {pid} is in {nesting} nested process trees already; at most {MaxNesting} may nest");
        }

        string name = _prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        string cgroup = CgroupHierarchy.Create(parent, name);
        string before = parent;
        try
        {
            // The pid is written to move the process, so it must name this process now: where the kernel tells (pidfs),
            // a pidfd of whoever has the pid is this one's; and this one is alive after the move, so it had the pid then.
            before = _cgroups.CgroupOf(pid);
            EnsureSameProcess(pid, processId);
            CgroupHierarchy.Move(pid, cgroup);
            EnsureAlive(pidfd, pid);
        }
        catch
        {
            // Whoever was moved goes back to the cgroup it was in, which is not the tree's parent if it was a stranger.
            CgroupHierarchy.EmptyInto(cgroup, before);
            throw;
        }

        var tree = new Tree(cgroup, new ProcessTree(CgroupHierarchy.IdOf(cgroup), _cgroups.LevelOf(cgroup)), processId);
        _byPath[cgroup] = tree;
        Saved();
        return tree;
    }

    private static void EnsureSameProcess(int pid, ulong processId)
    {
        using SafeFileHandle now = Interop.Libc.PidfdOpen(pid, 0);
        if (now.IsInvalid || (Interop.Libc.PidfsInode(now) is { } identity && identity != processId))
        {
            throw new IOException($"pid {pid} has exited");
        }
    }

    private static void EnsureAlive(SafeFileHandle pidfd, int pid)
    {
        if (Interop.Libc.PidfdHasExited(pidfd))
        {
            throw new IOException($"pid {pid} has exited");
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
    private void Saved() => ProcessTreeRecord.Write(_recordPath, [.. _byPath.Keys, .. _busy]);

    /// <summary>Removes a tree and what its processes made beneath it, but not a live tree nested in it (it stays busy until that one goes).</summary>
    private bool TryRemove(string cgroup)
    {
        try
        {
            CgroupHierarchy.Remove(cgroup, keep: _byPath.ContainsKey);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            // EBUSY: a process in it is exiting and not yet reaped, was just born there, or a nested tree is still in use.
            return false;
        }
    }

    private sealed class Tree(string path, ProcessTree cgroup, ulong processId)
    {
        public string Path { get; } = path;

        public ProcessTree Cgroup { get; } = cgroup;

        /// <summary>The process the tree was made for: the same process asking again shares it.</summary>
        public ulong ProcessId { get; } = processId;

        public HashSet<HolderId> Holders { get; } = [];
    }
}
