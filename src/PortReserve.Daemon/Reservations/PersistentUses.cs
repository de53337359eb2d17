namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The uses of persistent reservations granted to processes: each lets one process (by pid) bind one reservation's
/// ports for as long as the connection that associated lasts, and is one entry in the bind hook's allow map, which is
/// bounded. So they are counted, per uid (administrators are exempt) and in all, and a use beyond either limit is refused
/// before it reaches the hook: a user who associates from many processes with many reservations fills its own share,
/// not the map everyone's binds depend on.
/// </summary>
internal sealed class PersistentUses
{
    /// <summary>Distinct (process, reservation) uses one uid may hold at once.</summary>
    public const int MaxPerUid = 1024;

    /// <summary>Uses in all: half the hook's allow map, the other half left to the reservations' own allow-lists.</summary>
    public const int MaxInAll = Kernel.Bpf.BindHookLayout.AllowEntries / 2;

    private readonly Dictionary<HolderId, (uint Uid, HashSet<(ulong Token, int Pid)> Uses)> _byHolder = [];
    private readonly Dictionary<uint, int> _perUid = [];
    private int _total;

    /// <summary>Records a use (one already held is nothing new); the refusal when it would go beyond a limit.</summary>
    public Refusal? Grant(HolderId holderId, Principal requester, Reservation persistent)
    {
        if (_byHolder.TryGetValue(holderId, out (uint Uid, HashSet<(ulong Token, int Pid)> Uses) held) && held.Uses.Contains((persistent.Token, requester.Pid)))
        {
            return null;
        }

        int ofUid = _perUid.GetValueOrDefault(requester.Uid);
        if (!requester.IsAdministrator && ofUid >= MaxPerUid)
        {
            return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"uid {requester.Uid} already holds {ofUid} uses of persistent reservations (a process associated with a reservation, counted once per pair), the most one user may; close the connections that no longer need theirs");
        }

        if (_total >= MaxInAll)
        {
            return new Refusal(PortReservationErrorKind.NoBufferSpaceAvailable, $"{_total} uses of persistent reservations are held, the most the bind hook takes; try again once connections that associated with persistent reservations have closed");
        }

        if (held.Uses is null)
        {
            _byHolder[holderId] = held = (requester.Uid, []);
        }

        held.Uses.Add((persistent.Token, requester.Pid));
        _perUid[requester.Uid] = ofUid + 1;
        _total++;
        return null;
    }

    /// <summary>A holder went away, or its process exited: every use granted through it goes.</summary>
    public void ReleaseHolder(HolderId holderId)
    {
        if (_byHolder.Remove(holderId, out (uint Uid, HashSet<(ulong Token, int Pid)> Uses) held))
        {
            Forget(held.Uid, held.Uses.Count);
        }
    }

    /// <summary>A persistent reservation was taken out: the uses of it go with it.</summary>
    public void ReservationRemoved(ulong token)
    {
        foreach ((uint uid, HashSet<(ulong Token, int Pid)> uses) in _byHolder.Values)
        {
            Forget(uid, uses.RemoveWhere(use => use.Token == token));
        }
    }

    private void Forget(uint uid, int count)
    {
        if (count == 0)
        {
            return;
        }

        _total -= count;
        if ((_perUid[uid] -= count) == 0)
        {
            _perUid.Remove(uid);
        }
    }
}
