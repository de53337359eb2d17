using System.Net;

namespace PortReserve.AspNetCore;

/// <summary>The reserved endpoints Kestrel listens on in this app, and whether each one's reservation still holds.</summary>
internal sealed class ReservedListeners
{
    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];

    public void Add(Entry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }

    public void Remove(Entry entry)
    {
        lock (_gate)
        {
            _entries.Remove(entry);
        }
    }

    public IReadOnlyList<Entry> Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries];
        }
    }

    /// <summary>One listener: what it was asked for, where it is bound, and the token that fires when its reservation is lost.</summary>
    internal sealed record Entry(ReservedListenOptions Options, IPEndPoint Bound, CancellationToken Lost);
}
