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
    private readonly Dictionary<HolderId, HolderPolicy> _holders = [];
    private readonly PersistentPolicies _persistent;
    private readonly Dictionary<HolderId, HashSet<(PersistentPolicy Policy, uint Pid)>> _usesByHolder = [];
    private readonly HashSet<HolderId> _processGone = [];
    private readonly LivePids _live = new();
    private readonly RuntimeRecords _records = new();
    private readonly Dictionary<ulong, (PortBlock Block, uint Policy)> _ports = [];
    private bool _outOfDate;
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
    /// them (<see cref="Maintain"/>).
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
            if (installation.RecordsUnreadable is { } reason)
            {
                DaemonLog.RuntimeRecordsNotRestored(logger, reason);
            }

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

    /// <summary>Who hears of the binds the hook refused; set once the daemon is built, before the first tick.</summary>
    public RefusedBindReporter? Refusals { get; set; }

    /// <summary>
    /// Once a tick: moves the lease on (runtime reservations stay enforced for the restart grace from now), and reports
    /// the binds the hook refused since the last tick.
    /// </summary>
    public void Maintain()
    {
        _installation?.Renew();
        if (_installation is { } installation && Refusals is { } reporter)
        {
            installation.Maps.Refusals.Drain(reporter.Report);
        }
    }

    /// <summary>True while the maps may not hold what this sink last wrote (a write was refused): the committer writes again.</summary>
    public bool Drifted() => _outOfDate;

    /// <summary>
    /// Applies every change, each once, to this sink's record of what the maps hold and to the maps. A change the maps
    /// refused leaves the record whole: the maps are then rewritten from it, whole, this round and every later one until
    /// that succeeds; only then is the round a success. A change that cannot be represented (the policy table is full)
    /// fails the round whatever the maps did.
    /// </summary>
    public void Apply(KernelSnapshot snapshot)
    {
        // Nothing to mirror without the hooks (the table records changes only for them, unless they failed to attach).
        if (_installation?.Maps is not { } maps)
        {
            return;
        }

        IOException? unrepresentable = null;
        foreach (ReservationChange change in snapshot.Changes)
        {
            try
            {
                Apply(maps, change);
            }
            catch (IOException e)
            {
                unrepresentable ??= e;
            }
        }

        IOException? refused = maps.TakeFailure();
        if (refused is not null || _outOfDate)
        {
            _outOfDate = true;
            Rewrite(maps);
            refused = maps.TakeFailure();
            _outOfDate = refused is not null;
        }

        if ((unrepresentable ?? refused) is { } failure)
        {
            throw new IOException($"the bind hook's maps could not take a change: {failure.Message}", failure);
        }
    }

    /// <summary>For tests of the writer's recovery: the maps, whose hash map writes can be made to fail.</summary>
    internal BindHookMaps? Maps => _installation?.Maps;

    public void Open(ulong socketCookie) => _installation?.Maps.SetProbe(socketCookie);

    public void Close() => _installation?.Maps.SetProbe(0);

    public void Dispose() => _installation?.Dispose();

    private static InvalidOperationException Required(Exception e)
        => new($"--exclusive-binds on, but the bind hooks cannot be attached: {e.Message}. Run portreserved as root on a kernel with cgroup v2 and BPF links, or use --exclusive-binds auto|off", e);

    private void Apply(BindHookMaps maps, ReservationChange change)
    {
        switch (change.Kind)
        {
            case ReservationChangeKind.Added when change.Owner is { } owner:
                _records.Add(maps, change.Token, change.Block, owner, _holders.GetValueOrDefault(owner.HolderId)?.Tree ?? default);
                if (owner.Exclusive)
                {
                    HolderPolicy holder = Holder(maps, owner.HolderId, owner.Principal.Pid);
                    PointPorts(maps, change.Token, change.Block, holder.Id);
                }

                break;
            case ReservationChangeKind.Added:
                PersistentPolicy placed = _persistent.Place(maps, change.Token, change.Consumers ?? PersistentConsumers.None);
                PointPorts(maps, change.Token, change.Block, placed.Id);
                break;
            case ReservationChangeKind.Removed:
                Remove(maps, change);
                break;
            case ReservationChangeKind.TreeAssigned:
                HolderPolicy tree = Holder(maps, change.HolderId, change.Pid);
                tree.Tree = change.Tree;
                Write(maps, tree);
                _records.TreeAssigned(maps, change.HolderId, change.Tree);
                break;
            case ReservationChangeKind.UseGranted when _persistent.Of(change.Token) is { } policy && !_processGone.Contains(change.HolderId):
                if (!_usesByHolder.TryGetValue(change.HolderId, out HashSet<(PersistentPolicy Policy, uint Pid)>? uses))
                {
                    _usesByHolder[change.HolderId] = uses = [];
                }

                // A connection that associates again and again holds one use, not one per request.
                if (uses.Add((policy, (uint)change.Pid)))
                {
                    _live.Change(maps, (uint)change.Pid, +1);
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
            case ReservationChangeKind.ConsumersChanged:
                _persistent.Reallow(maps, change.Token, change.Consumers ?? PersistentConsumers.None);
                break;
        }
    }

    /// <summary>Points a reservation's ports at its policy (after the policy was written), and remembers it for <see cref="Rewrite"/>.</summary>
    private void PointPorts(BindHookMaps maps, ulong token, PortBlock block, uint policy)
    {
        maps.SetPorts(block, policy);
        _ports[token] = (block, policy);
    }

    /// <summary>
    /// Writes the maps whole from this sink's record, after a write was refused: policies first, then every port (each
    /// pointing at its policy or at none), then the policies nobody holds cleared, then the hash maps made to hold
    /// exactly what they should (the live map as <see cref="LivePids.Rewrite"/> says).
    /// </summary>
    private void Rewrite(BindHookMaps maps)
    {
        var used = new HashSet<uint>();
        foreach (HolderPolicy holder in _holders.Values)
        {
            maps.SetPolicy(holder.Id, BindHookLayout.RuntimeHolder, holder.NamesPid ? (uint)holder.Pid : 0, holder.Tree);
            used.Add(holder.Id);
        }

        var allowed = new HashSet<(uint Policy, uint Kind, uint Id)>();
        foreach (PersistentPolicy policy in _persistent.All)
        {
            maps.SetPolicy(policy.Id, BindHookLayout.Persistent, 0);
            used.Add(policy.Id);
            allowed.UnionWith(policy.Allowed.Select(entry => (policy.Id, entry.Kind, entry.Id)));
        }

        maps.SetAllPorts(_ports.Values);
        for (uint id = 1; id < BindHookLayout.PolicyEntries; id++)
        {
            if (!used.Contains(id))
            {
                maps.ClearPolicy(id);
            }
        }

        // The administrators' entries (policy 0) were written once, at the start, and stay.
        maps.KeepOnly(maps.Allow, BindHookLayout.AllowKeySize, key => BindHookLayout.ReadAllowKey(key) is var entry && (entry.Policy == BindHookLayout.AdministratorsPolicy || allowed.Contains(entry)));
        foreach ((uint policy, uint kind, uint id) in allowed)
        {
            maps.AddAllowed(policy, kind, id);
        }

        _live.Rewrite(maps);

        HashSet<ulong> recorded = [.. _records.All.Select(record => record.Token)];
        maps.KeepOnly(maps.Runtime, RuntimeRecord.KeySize, key => recorded.Contains(BitConverter.ToUInt64(key)));
        foreach (RuntimeRecord record in _records.All)
        {
            maps.SetRecord(record);
        }
    }

    /// <summary>
    /// A holder's process exited while the holder lives on: its pid no longer names it, so its policy allows no process
    /// by pid (its process tree, a cgroup, stays), and the uses of persistent reservations granted to that pid go.
    /// </summary>
    private void ProcessExited(BindHookMaps maps, HolderId holderId)
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
    private void HolderGone(BindHookMaps maps, HolderId holderId)
    {
        _processGone.Remove(holderId);
        if (_holders.Remove(holderId, out HolderPolicy? gone))
        {
            maps.ClearPolicy(gone.Id);
            _ids.Return(gone.Id);
            if (gone.NamesPid)
            {
                _live.Change(maps, (uint)gone.Pid, -1);
            }
        }

        RevokeUses(maps, holderId);
    }

    /// <summary>Takes out the uses of persistent reservations granted through <paramref name="holderId"/>.</summary>
    private void RevokeUses(BindHookMaps maps, HolderId holderId)
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

                _live.Change(maps, pid, -1);
            }
        }
    }

    private HolderPolicy Holder(BindHookMaps maps, HolderId holderId, int pid)
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
            _live.Change(maps, (uint)holder.Pid, +1);
        }

        maps.SetPolicy(holder.Id, BindHookLayout.RuntimeHolder, namesPid ? (uint)holder.Pid : 0, holder.Tree);
        if (!namesPid && holder.NamesPid)
        {
            _live.Change(maps, (uint)holder.Pid, -1);
        }

        holder.NamesPid = namesPid;
    }

    private void Remove(BindHookMaps maps, ReservationChange removed)
    {
        if (removed.Owner is { } owner)
        {
            _records.Remove(maps, removed.Token, owner);
        }

        if (_ports.Remove(removed.Token))
        {
            maps.SetPorts(removed.Block, 0);
        }

        if (removed.Owner is null)
        {
            _persistent.Remove(maps, removed.Token);
        }
    }
}
