namespace PortReserve.Daemon.Server;

/// <summary>
/// How many client connections the daemon keeps open: in all, and per uid (root exempt from the per-uid limit), so
/// that a client opening connections without end meets a limit instead of exhausting the daemon's descriptors.
/// </summary>
internal sealed class ConnectionLimits(int maxTotal, int maxPerUid)
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

    /// <summary>Counts a new connection of <paramref name="uid"/>, or says why it may not open.</summary>
    public string? TryOpen(uint uid)
    {
        lock (_perUid)
        {
            int held = _perUid.GetValueOrDefault(uid);
            if (_total >= MaxTotal)
            {
                return $"portreserved already serves {_total} connections, its limit (--max-connections); close idle clients or raise it";
            }

            if (uid != 0 && held >= MaxPerUid)
            {
                return $"uid {uid} already has {held} connections open, the per-uid limit (--max-connections-per-uid); close some first";
            }

            _perUid[uid] = held + 1;
            _total++;
            return null;
        }
    }

    public void Closed(uint uid)
    {
        lock (_perUid)
        {
            _total--;
            if (--_perUid[uid] == 0)
            {
                _perUid.Remove(uid);
            }
        }
    }
}
