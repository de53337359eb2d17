namespace PortReserve.Daemon.Server;

/// <summary>
/// How many client connections the daemon keeps open, over all its endpoints: in all, and per uid, so that a client
/// opening connections without end meets a limit instead of exhausting the daemon's descriptors. Administrators are
/// exempt from the limit in all (others' connections never lock them out) and root from the per-uid one; every
/// connection also takes its descriptors from the <see cref="DescriptorBudget"/>, administrators' from a larger share.
/// </summary>
internal sealed class ConnectionLimits(int maxTotal, int maxPerUid, DescriptorBudget? descriptors = null)
{
    public const int DefaultMaxTotal = 4096;
    public const int DefaultMaxPerUid = 512;

    private readonly Dictionary<uint, int> _perUid = [];
    private int _total;

    public int MaxTotal { get; } = maxTotal;

    public int MaxPerUid { get; } = maxPerUid;

    /// <summary>Connections open now.</summary>
    public int Open
    {
        get
        {
            lock (_perUid)
            {
                return _total;
            }
        }
    }

    /// <summary>
    /// Counts a new connection of <paramref name="uid"/> holding <paramref name="descriptorCount"/> descriptors, or says
    /// why it may not open.
    /// </summary>
    public string? TryOpen(uint uid, bool administrator, int descriptorCount = 1)
    {
        lock (_perUid)
        {
            int held = _perUid.GetValueOrDefault(uid);
            if (!administrator && _total >= MaxTotal)
            {
                return $"portreserved already serves {_total} connections, its limit (--max-connections); close idle clients or raise it";
            }

            if (uid != 0 && held >= MaxPerUid)
            {
                return $"uid {uid} already has {held} connections open, the per-uid limit (--max-connections-per-uid); close some first";
            }

            if (descriptors?.TryTake(descriptorCount, administrator) == false)
            {
                return descriptors.Spent;
            }

            _perUid[uid] = held + 1;
            _total++;
            return null;
        }
    }

    /// <summary>A connection opened with <see cref="TryOpen"/> closed, giving back its <paramref name="descriptorCount"/> descriptors.</summary>
    public void Closed(uint uid, int descriptorCount = 1)
    {
        lock (_perUid)
        {
            _total--;
            if (--_perUid[uid] == 0)
            {
                _perUid.Remove(uid);
            }

            descriptors?.Return(descriptorCount);
        }
    }
}
