using System.Numerics;
using System.Runtime.InteropServices;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>A set of ports 0..65535 as a 65,536-bit map: range updates and searches work a 64-port word at a time.</summary>
internal sealed class PortSet
{
    private const int WordCount = 65536 / 64;
    private readonly ulong[] _words = new ulong[WordCount];

    /// <summary>The size of <see cref="CopyTo"/>'s output: one bit per port.</summary>
    public const int ByteCount = WordCount * sizeof(ulong);

    public bool Contains(int port) => (_words[port >> 6] & (1UL << (port & 63))) != 0;

    public void Add(PortRange range) => Update(range, set: true);

    public void Remove(PortRange range) => Update(range, set: false);

    public void Clear() => Array.Clear(_words);

    public void CopyFrom(PortSet other) => other._words.CopyTo(_words, 0);

    /// <summary>Writes the set as a little-endian bitmap of <see cref="ByteCount"/> bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(_words.AsSpan()).CopyTo(destination);
            return;
        }

        for (int i = 0; i < WordCount; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination[(i * sizeof(ulong))..], _words[i]);
        }
    }

    /// <summary>Reads a set written by <see cref="CopyTo"/>.</summary>
    public static PortSet FromBytes(ReadOnlySpan<byte> source)
    {
        var set = new PortSet();
        for (int i = 0; i < WordCount; i++)
        {
            set._words[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(source[(i * sizeof(ulong))..]);
        }

        return set;
    }

    // The bulk operations run on every kernel commit, so they work a vector (4-8 words) at a time.
    public void UnionWith(PortSet other)
    {
        Span<Vector<ulong>> target = Vectors(_words);
        ReadOnlySpan<Vector<ulong>> source = Vectors(other._words);
        for (int i = 0; i < target.Length; i++)
        {
            target[i] |= source[i];
        }
    }

    public void ExceptWith(PortSet other)
    {
        Span<Vector<ulong>> target = Vectors(_words);
        ReadOnlySpan<Vector<ulong>> source = Vectors(other._words);
        for (int i = 0; i < target.Length; i++)
        {
            target[i] = Vector.AndNot(target[i], source[i]);
        }
    }

    public void IntersectWith(PortSet other)
    {
        Span<Vector<ulong>> target = Vectors(_words);
        ReadOnlySpan<Vector<ulong>> source = Vectors(other._words);
        for (int i = 0; i < target.Length; i++)
        {
            target[i] &= source[i];
        }
    }

    public bool IsSupersetOf(PortSet other)
    {
        ReadOnlySpan<Vector<ulong>> mine = Vectors(_words);
        ReadOnlySpan<Vector<ulong>> theirs = Vectors(other._words);
        for (int i = 0; i < mine.Length; i++)
        {
            if (Vector.AndNot(theirs[i], mine[i]) != Vector<ulong>.Zero)
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

    /// <summary>The first port at or after <paramref name="from"/> that is (or is not) in the set; 65536 when none.</summary>
    private int NextClearOrSetFrom(int from, bool wantSet)
    {
        if (from > PortRange.MaxPort)
        {
            return PortRange.MaxPort + 1;
        }

        int word = from >> 6;
        ulong bits = (wantSet ? _words[word] : ~_words[word]) & (ulong.MaxValue << (from & 63));
        if (bits == 0)
        {
            // Skip whole empty (or full) words with a vectorised search.
            int next = wantSet ? _words.AsSpan(word + 1).IndexOfAnyExcept(0UL) : _words.AsSpan(word + 1).IndexOfAnyExcept(ulong.MaxValue);
            if (next < 0)
            {
                return PortRange.MaxPort + 1;
            }

            word += 1 + next;
            bits = wantSet ? _words[word] : ~_words[word];
        }

        return (word << 6) + BitOperations.TrailingZeroCount(bits);
    }

    private static Span<Vector<ulong>> Vectors(ulong[] words) => MemoryMarshal.Cast<ulong, Vector<ulong>>(words.AsSpan());

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
