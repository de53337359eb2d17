using System.Numerics;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>A set of ports 0..65535 as a 65,536-bit map: range updates and searches work a 64-port word at a time.</summary>
internal sealed class PortSet
{
    private const int WordCount = 65536 / 64;
    private readonly ulong[] _words = new ulong[WordCount];

    public bool Contains(int port) => (_words[port >> 6] & (1UL << (port & 63))) != 0;

    public void Add(PortRange range) => Update(range, set: true);

    public void Remove(PortRange range) => Update(range, set: false);

    public void Clear() => Array.Clear(_words);

    public void CopyFrom(PortSet other) => other._words.CopyTo(_words, 0);

    public void UnionWith(PortSet other)
    {
        for (int i = 0; i < WordCount; i++)
        {
            _words[i] |= other._words[i];
        }
    }

    public void ExceptWith(PortSet other)
    {
        for (int i = 0; i < WordCount; i++)
        {
            _words[i] &= ~other._words[i];
        }
    }

    public bool IsSupersetOf(PortSet other)
    {
        for (int i = 0; i < WordCount; i++)
        {
            if ((other._words[i] & ~_words[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    public bool SetEquals(PortSet other) => _words.AsSpan().SequenceEqual(other._words);

    public bool IsEmpty => _words.AsSpan().IndexOfAnyExcept(0UL) < 0;

    /// <summary>The first port in <paramref name="range"/> that is in this set, or -1.</summary>
    public int FirstIn(PortRange range)
    {
        int found = NextSet(this, this, range.Start, range.End);
        return found <= range.End ? found : -1;
    }

    /// <summary>The maximal runs of consecutive ports in the set, in ascending order.</summary>
    public IEnumerable<PortRange> Ranges()
    {
        int port = NextClearOrSetFrom(0, wantSet: true);
        while (port <= PortRange.MaxPort)
        {
            int end = NextClearOrSetFrom(port, wantSet: false);
            yield return PortRange.FromBounds(port, end - 1);
            port = end > PortRange.MaxPort ? end : NextClearOrSetFrom(end, wantSet: true);
        }
    }

    /// <summary>The first port in [from, to] set in neither set, or -1.</summary>
    public static int NextClear(PortSet a, PortSet b, int from, int to)
    {
        for (int port = from; port <= to;)
        {
            int word = port >> 6;
            ulong free = ~(a._words[word] | b._words[word]) & (ulong.MaxValue << (port & 63));
            if (free != 0)
            {
                int found = (word << 6) + BitOperations.TrailingZeroCount(free);
                return found <= to ? found : -1;
            }

            port = (word + 1) << 6;
        }

        return -1;
    }

    /// <summary>The first port in [from, to] set in either set, or <c>to + 1</c>.</summary>
    public static int NextSet(PortSet a, PortSet b, int from, int to)
    {
        for (int port = from; port <= to;)
        {
            int word = port >> 6;
            ulong used = (a._words[word] | b._words[word]) & (ulong.MaxValue << (port & 63));
            if (used != 0)
            {
                int found = (word << 6) + BitOperations.TrailingZeroCount(used);
                return Math.Min(found, to + 1);
            }

            port = (word + 1) << 6;
        }

        return to + 1;
    }

    private int NextClearOrSetFrom(int from, bool wantSet)
    {
        if (from > PortRange.MaxPort)
        {
            return PortRange.MaxPort + 1;
        }

        int found = wantSet ? NextSet(this, this, from, PortRange.MaxPort) : NextClear(this, this, from, PortRange.MaxPort);
        return found < 0 ? PortRange.MaxPort + 1 : found;
    }

    private void Update(PortRange range, bool set)
    {
        int port = range.Start;
        int end = range.End;
        while (port <= end)
        {
            int word = port >> 6;
            int bit = port & 63;
            int bitsInWord = Math.Min(64 - bit, end - port + 1);
            ulong mask = bitsInWord == 64 ? ulong.MaxValue : ((1UL << bitsInWord) - 1) << bit;
            _words[word] = set ? _words[word] | mask : _words[word] & ~mask;
            port += bitsInWord;
        }
    }
}
