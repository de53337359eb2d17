using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The bind hook's policies of persistent reservations: one per reservation, letting root, the administrators and its
/// allowed users and groups bind its ports, and the processes granted a use of it (<see cref="PersistentPolicy.Allowed"/>).
/// Policy ids come from the pool the runtime holders' policies share.
/// </summary>
internal sealed class PersistentPolicies(PolicyIds ids)
{
    private readonly Dictionary<ulong, PersistentPolicy> _byToken = [];

    /// <summary>Every placed persistent reservation's policy.</summary>
    public IEnumerable<PersistentPolicy> All => _byToken.Values;

    /// <summary>The policy of a placed persistent reservation, or null.</summary>
    public PersistentPolicy? Of(ulong token) => _byToken.GetValueOrDefault(token);

    /// <summary>
    /// A persistent reservation's policy: its allowed ids first, then the policy; its ports are the caller's to point at
    /// it. Throws <see cref="IOException"/>, placing nothing, when the policy table is full.
    /// </summary>
    public PersistentPolicy Place(BindHookMaps maps, ulong token, PersistentConsumers consumers)
    {
        var placed = new PersistentPolicy(ids.Take(), []);
        foreach ((uint kind, uint allowedId) in Allowed(consumers))
        {
            maps.AddAllowed(placed.Id, kind, allowedId);
            placed.Allowed.Add((kind, allowedId));
        }

        maps.SetPolicy(placed.Id, BindHookLayout.Persistent, 0);
        _byToken[token] = placed;
        return placed;
    }

    /// <summary>
    /// A persistent reservation's users and groups changed (its reservations.d line did): the newly named are let in
    /// first, then the no longer named are taken out, so nobody named both before and after is refused in between.
    /// Processes granted a use of it keep that use.
    /// </summary>
    public void Reallow(BindHookMaps maps, ulong token, PersistentConsumers consumers)
    {
        if (Of(token) is not { } policy)
        {
            return;
        }

        HashSet<(uint Kind, uint Id)> wanted = [.. Allowed(consumers)];
        foreach ((uint kind, uint allowedId) in wanted.Where(entry => !policy.Allowed.Contains(entry)))
        {
            maps.AddAllowed(policy.Id, kind, allowedId);
            policy.Allowed.Add((kind, allowedId));
        }

        foreach ((uint kind, uint allowedId) in policy.Allowed.Where(entry => entry.Kind != BindHookLayout.AllowProcess && !wanted.Contains(entry)).Distinct().ToList())
        {
            maps.RemoveAllowed(policy.Id, kind, allowedId);
            policy.Allowed.RemoveAll(entry => entry == (kind, allowedId));
        }
    }

    /// <summary>A persistent reservation taken out (its ports were cleared first): its policy and allowed ids go.</summary>
    public void Remove(BindHookMaps maps, ulong token)
    {
        if (_byToken.Remove(token, out PersistentPolicy? policy))
        {
            Unplace(maps, policy);
        }
    }

    private void Unplace(BindHookMaps maps, PersistentPolicy policy)
    {
        maps.ClearPolicy(policy.Id);
        foreach ((uint kind, uint allowedId) in policy.Allowed.Distinct())
        {
            maps.RemoveAllowed(policy.Id, kind, allowedId);
        }

        // Emptied, so that a holder whose use of it ends later does not touch the id once it is reused.
        policy.Allowed.Clear();
        ids.Return(policy.Id);
    }

    /// <summary>The uids and gids a persistent reservation's policy lets bind its ports, each once.</summary>
    private static IEnumerable<(uint Kind, uint Id)> Allowed(PersistentConsumers consumers)
        => consumers.Users.Select(u => (BindHookLayout.AllowUid, u.Id))
            .Concat(consumers.GroupMemberUids.Select(uid => (BindHookLayout.AllowUid, uid)))
            .Concat(consumers.Groups.Select(g => (BindHookLayout.AllowGid, g.Id)))
            .Distinct();
}
