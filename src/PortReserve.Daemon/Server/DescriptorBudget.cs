namespace PortReserve.Daemon.Server;

/// <summary>
/// The open files the daemon may spend on what others make it hold (connections, and the pidfds that watch portserver
/// grants), so that it never runs out: out of descriptors, the .NET runtime cannot start a thread and aborts the
/// process, taking every reservation and all enforcement with it. A reserve is always kept free for the daemon's own
/// work; above it, a share only administrators may use, so that they are never locked out by other users.
/// </summary>
internal sealed class DescriptorBudget
{
    private readonly Lock _gate = new();
    private int _inUse;

    /// <param name="limit">The open file limit (RLIMIT_NOFILE).</param>
    /// <param name="alreadyOpen">Descriptors the daemon holds already (its store, the kernel files, the runtime's own).</param>
    public DescriptorBudget(long limit, int alreadyOpen)
    {
        Limit = limit;
        long spare = Math.Max(0, limit - alreadyOpen);

        // A sixteenth (at least 64) for the daemon itself, as much again for administrators only.
        int reserve = (int)Math.Min(int.MaxValue / 4, Math.Max(64, spare / 16));
        ForEveryone = (int)Math.Clamp(spare - (2 * reserve), 0, int.MaxValue / 2);
        ForAdministrators = (int)Math.Clamp(spare - reserve, 0, int.MaxValue / 2);
    }

    public long Limit { get; }

    /// <summary>Descriptors others may make the daemon hold.</summary>
    public int ForEveryone { get; }

    /// <summary>Descriptors administrators may make the daemon hold (the others' share included).</summary>
    public int ForAdministrators { get; }

    /// <summary>Raises the soft limit to the hard one and budgets what is left after the descriptors open now.</summary>
    public static DescriptorBudget ForThisProcess()
    {
        long limit = Interop.Libc.RaiseOpenFileLimit();
        int open = Directory.GetFiles("/proc/self/fd").Length;
        return new DescriptorBudget(limit, open);
    }

    public int InUse
    {
        get
        {
            lock (_gate)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Takes <paramref name="count"/> descriptors from the share of everyone or of administrators; false when it is spent.</summary>
    public bool TryTake(int count, bool administrator)
    {
        lock (_gate)
        {
            if (_inUse + count > (administrator ? ForAdministrators : ForEveryone))
            {
                return false;
            }

            _inUse += count;
            return true;
        }
    }

    public void Return(int count)
    {
        lock (_gate)
        {
            _inUse -= count;
        }
    }

    /// <summary>Why a request was refused when the budget is spent, for the refusal's message.</summary>
    public string Spent => $"portreserved holds as many connections and process watches as its open file limit ({Limit}, LimitNOFILE) allows; close idle clients, or raise the limit";
}
