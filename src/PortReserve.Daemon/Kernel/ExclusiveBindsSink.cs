using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Makes reservations exclusive: the bind hook, attached at the root of the cgroup v2 hierarchy and confined to the
/// daemon's network namespace, refuses a bind to a reserved port by anyone but its holder. A runtime reservation's
/// holder is the process that acquired it (and, once it asked, every process of its process tree); a persistent
/// reservation's are root, the administrators and its allowed users and groups. Portserver grants and system exclusions
/// are not exclusive. The sink mirrors the table's changes into the hook's maps: a policy per runtime holder and per
/// persistent reservation, and the policy's id in each of its ports.
/// </summary>
internal sealed class ExclusiveBindsSink : IKernelSink, IProbeGate
{
    private readonly PolicyIds _ids = new(BindHookLayout.PolicyEntries);
    private readonly Dictionary<long, HolderPolicy> _holders = [];
    private readonly PersistentPolicies _persistent;
    private readonly Dictionary<long, HashSet<(PersistentPolicy Policy, uint Pid)>> _usesByHolder = [];
    private readonly HashSet<long> _processGone = [];
    private readonly Dictionary<uint, int> _liveTgids = [];
    private readonly RuntimeRecords _records = new();
    private BindHookInstallation? _installation;

    private ExclusiveBindsSink(ExclusiveBindsMode mode, string detail, BindHookInstallation? installation = null)
    {
        _persistent = new PersistentPolicies(_ids);
        Mode = mode;
        Detail = detail;
        _installation = installation;
    }

    public ExclusiveBindsMode Mode { get; }

    public string Name => "the bind hook's maps";

    public bool IsActive => _installation is not null;

    /// <summary>Whether binds are exclusive, and why not when they are not, for status and logs.</summary>
    public string Detail { get; private set; }

    /// <summary>The cgroup v2 hierarchy the hooks are attached to, where holders' process trees are made; null when off.</summary>
    public CgroupHierarchy? Cgroups => _installation?.Cgroups;

    /// <summary>
    /// Prepares the bind hook per <paramref name="mode"/> (<see cref="BindHookInstallation"/>), loaded but not yet
    /// attached (<see cref="Attach"/>). With <paramref name="pinDirectory"/> the hooks are pinned there and outlive the
    /// daemon; runtime reservations then stay enforced for <paramref name="restartGrace"/> after the daemon last renewed
    /// them (<see cref="Renew"/>).
    /// </summary>
    public static ExclusiveBindsSink Open(ExclusiveBindsMode mode, uint? adminGroupId, string? pinDirectory, TimeSpan restartGrace, ILogger logger)
    {
        if (mode == ExclusiveBindsMode.Off)
        {
            BindHookInstallation.ReleaseEarlier(pinDirectory, "exclusive binds are off", logger);
            return new ExclusiveBindsSink(mode, "off (--exclusive-binds off): anyone may bind reserved ports by number");
        }

        try
        {
            BindHookInstallation installation = BindHookInstallation.Open(adminGroupId, pinDirectory, restartGrace);
            return new ExclusiveBindsSink(mode, $"on: {installation.Description}; only holders may bind reserved ports", installation);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            if (mode == ExclusiveBindsMode.On)
            {
                throw Required(e);
            }

            DaemonLog.ExclusiveBindsUnavailable(logger, e.Message);
            BindHookInstallation.ReleaseEarlier(pinDirectory, "this daemon cannot enforce exclusive binds", logger);
            return new ExclusiveBindsSink(mode, $"off: {e.Message}; anyone may bind reserved ports by number");
        }
    }

    /// <summary>
    /// Attaches the hooks, or gives the links an earlier daemon pinned these programs and maps: call once the table's
    /// first commit filled the maps, so that what the earlier daemon enforced is enforced until this state replaces it.
    /// </summary>
    public void Attach(ILogger logger)
    {
        try
        {
            _installation?.Attach();
        }
        catch (IOException e) when (Mode == ExclusiveBindsMode.Auto)
        {
            // Loaded but not attachable here: the daemon runs on without exclusive binds, and says so.
            DaemonLog.ExclusiveBindsUnavailable(logger, e.Message);
            _installation?.Detach();
            _installation?.Dispose();
            _installation = null;
            Detail = $"off: the bind hooks cannot be attached ({e.Message}); anyone may bind reserved ports by number";
        }
        catch (IOException e)
        {
            throw Required(e);
        }
    }

    /// <summary>The runtime reservations the daemon before this one recorded (empty without pins): for <see cref="Server.RestoredHolders"/>.</summary>
    public IReadOnlyList<RuntimeRecord> Recorded => _installation?.Recorded ?? [];

    /// <summary>Moves the lease on: runtime reservations stay enforced for the restart grace from now.</summary>
    public void Renew() => _installation?.Renew();

    /// <summary>Applies every change, each once; a change that fails is reported after the rest were applied.</summary>
    public void Apply(KernelSnapshot snapshot)
    {
        // Nothing to mirror without the hooks (the table records changes only for them, unless they failed to attach).
        if (_installation?.Maps is not { } maps)
        {
            return;
        }

        Exception? failure = null;
        foreach (ReservationChange change in snapshot.Changes)
        {
            try
            {
                Apply(maps, change);
            }
            catch (IOException e)
            {
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            throw new IOException($"the bind hook's maps could not take a change: {failure.Message}", failure);
        }
    }

    public void Open(ulong socketCookie) => _installation?.Maps.SetProbe(socketCookie);

    public void Close() => _installation?.Maps.SetProbe(0);

    public void Dispose() => _installation?.Dispose();

    private static InvalidOperationException Required(Exception e)
        => new($"--exclusive-binds on, but the bind hooks cannot be attached: {e.Message}. Run portreserved as root on a kernel with cgroup v2 and BPF links, or use --exclusive-binds auto|off", e);

    private void Apply(BindHookMaps maps, ReservationChange change)
    {
        switch (change.Kind)
        {
            case ReservationChangeKind.Added when change.Reservation is { Owner: { } owner } runtime:
                _records.Add(maps, runtime, owner, _holders.GetValueOrDefault(owner.HolderId)?.Tree ?? default);
                if (owner.Exclusive)
                {
                    HolderPolicy holder = Holder(maps, owner.HolderId, owner.Pid);
                    maps.SetPorts(runtime.Block, holder.Id);
                }

                break;
            case ReservationChangeKind.Added when change.Reservation is { Owner: null } persistent:
                _persistent.Place(maps, persistent);
                break;
            case ReservationChangeKind.Removed when change.Reservation is { } removed:
                Remove(maps, removed);
                break;
            case ReservationChangeKind.TreeAssigned:
                HolderPolicy tree = Holder(maps, change.HolderId, change.Pid);
                tree.Tree = change.Tree;
                Write(maps, tree);
                _records.TreeAssigned(maps, change.HolderId, change.Tree);
                break;
            case ReservationChangeKind.UseGranted when change.Reservation is { } used && _persistent.Of(used) is { } policy && !_processGone.Contains(change.HolderId):
                if (!_usesByHolder.TryGetValue(change.HolderId, out HashSet<(PersistentPolicy Policy, uint Pid)>? uses))
                {
                    _usesByHolder[change.HolderId] = uses = [];
                }

                // A connection that associates again and again holds one use, not one per request.
                if (uses.Add((policy, (uint)change.Pid)))
                {
                    Live(maps, (uint)change.Pid, +1);
                    maps.AddAllowed(policy.Id, BindHookLayout.AllowProcess, (uint)change.Pid);
                    policy.Allowed.Add((BindHookLayout.AllowProcess, (uint)change.Pid));
                }

                break;
            case ReservationChangeKind.ProcessExited:
                ProcessExited(maps, change.HolderId);
                break;
            case ReservationChangeKind.HolderGone:
                HolderGone(maps, change.HolderId);
                break;
            case ReservationChangeKind.ConsumersChanged when change.Reservation is { } changed:
                _persistent.Reallow(maps, changed);
                break;
        }
    }

    /// <summary>
    /// A holder's process exited while the holder lives on: its pid no longer names it, so its policy allows no process
    /// by pid (its process tree, a cgroup, stays), and the uses of persistent reservations granted to that pid go.
    /// </summary>
    private void ProcessExited(BindHookMaps maps, long holderId)
    {
        _records.ProcessExited(maps, holderId);
        _processGone.Add(holderId);
        if (_holders.TryGetValue(holderId, out HolderPolicy? holder))
        {
            Write(maps, holder);
        }

        RevokeUses(maps, holderId);
    }

    /// <summary>A holder went away: its policy (its reservations' ports were cleared by the removals before this) and the uses it was granted go.</summary>
    private void HolderGone(BindHookMaps maps, long holderId)
    {
        _processGone.Remove(holderId);
        if (_holders.Remove(holderId, out HolderPolicy? gone))
        {
            maps.ClearPolicy(gone.Id);
            _ids.Return(gone.Id);
            if (gone.NamesPid)
            {
                Live(maps, (uint)gone.Pid, -1);
            }
        }

        RevokeUses(maps, holderId);
    }

    /// <summary>Takes out the uses of persistent reservations granted through <paramref name="holderId"/>.</summary>
    private void RevokeUses(BindHookMaps maps, long holderId)
    {
        if (_usesByHolder.Remove(holderId, out HashSet<(PersistentPolicy Policy, uint Pid)>? uses))
        {
            foreach ((PersistentPolicy policy, uint pid) in uses)
            {
                // A policy whose reservation was deleted took its entries with it.
                if (policy.Allowed.Remove((BindHookLayout.AllowProcess, pid)) && !policy.Allowed.Contains((BindHookLayout.AllowProcess, pid)))
                {
                    maps.RemoveAllowed(policy.Id, BindHookLayout.AllowProcess, pid);
                }

                Live(maps, pid, -1);
            }
        }
    }

    private HolderPolicy Holder(BindHookMaps maps, long holderId, int pid)
    {
        if (!_holders.TryGetValue(holderId, out HolderPolicy? holder))
        {
            _holders[holderId] = holder = new HolderPolicy(holderId, _ids.Take(), pid);
            Write(maps, holder);
        }

        return holder;
    }

    /// <summary>
    /// A holder's policy: its process by pid unless that process exited, and its process tree if it has one. A pid the
    /// policy names is live in the hook's map first (the exit program takes it out as the process exits).
    /// </summary>
    private void Write(BindHookMaps maps, HolderPolicy holder)
    {
        bool namesPid = !_processGone.Contains(holder.HolderId);
        if (namesPid && !holder.NamesPid)
        {
            Live(maps, (uint)holder.Pid, +1);
        }

        maps.SetPolicy(holder.Id, BindHookLayout.RuntimeHolder, namesPid ? (uint)holder.Pid : 0, holder.Tree);
        if (!namesPid && holder.NamesPid)
        {
            Live(maps, (uint)holder.Pid, -1);
        }

        holder.NamesPid = namesPid;
    }

    /// <summary>
    /// Counts the policies naming <paramref name="tgid"/>: each new one puts it in the live map (again: the exit program
    /// may have taken it out for an earlier process with that pid, whose exit the daemon has not heard of yet), the last
    /// takes it out.
    /// </summary>
    private void Live(BindHookMaps maps, uint tgid, int change)
    {
        int count = _liveTgids.GetValueOrDefault(tgid) + change;
        if (count > 0)
        {
            if (change > 0)
            {
                maps.AddLive(tgid);
            }

            _liveTgids[tgid] = count;
        }
        else
        {
            _liveTgids.Remove(tgid);
            maps.RemoveLive(tgid);
        }
    }

    private void Remove(BindHookMaps maps, Reservation removed)
    {
        if (removed.Owner is { } owner)
        {
            _records.Remove(maps, removed, owner);
        }

        if (removed.Owner is { Exclusive: false })
        {
            return;
        }

        maps.SetPorts(removed.Block, 0);
        if (removed.Owner is null)
        {
            _persistent.Remove(maps, removed);
        }
    }

    private sealed class HolderPolicy(long holderId, uint id, int pid)
    {
        public long HolderId { get; } = holderId;

        public uint Id { get; } = id;

        public int Pid { get; } = pid;

        public ProcessTree Tree { get; set; }

        /// <summary>Whether the policy in the map names the pid (and holds one count of it in the live map).</summary>
        public bool NamesPid { get; set; }
    }
}
