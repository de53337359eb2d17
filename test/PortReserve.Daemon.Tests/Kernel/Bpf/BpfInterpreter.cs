using System.Buffers.Binary;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel.Bpf;

/// <summary>
/// Runs the subset of eBPF the daemon's programs are made of, against maps and a calling process described in memory,
/// so that every branch of the bind hook can be taken without root or a kernel. Memory is regions (the context, the
/// 512-byte stack, each map element) addressed by pointers that name their region; every access is bounds-checked, as
/// the verifier would have it. Each conditional jump records which ways it went.
/// </summary>
internal sealed class BpfInterpreter
{
    private const int StackSize = 512;
    private readonly List<byte[]> _regions = [Array.Empty<byte>()];
    private readonly Dictionary<byte[], int> _regionOf = new(ReferenceEqualityComparer.Instance);

    /// <param name="world">The maps, the calling process and the clock.</param>
    /// <param name="branches">Where to record the ways each conditional jump went; several runs may share one.</param>
    public BpfInterpreter(BpfWorld world, Dictionary<int, (bool Taken, bool NotTaken)>? branches = null)
    {
        World = world;
        Branches = branches ?? [];
    }

    public BpfWorld World { get; }

    /// <summary>For each conditional jump, by instruction index: whether it was seen taken, and seen not taken.</summary>
    public Dictionary<int, (bool Taken, bool NotTaken)> Branches { get; }

    /// <summary>The errno the program set with bpf_set_retval, or null.</summary>
    public int? ReturnValue { get; private set; }

    /// <summary>Runs <paramref name="program"/> on <paramref name="context"/> (the hook's struct, as the kernel passes it) and returns R0.</summary>
    public long Run(IReadOnlyList<BpfInstruction> program, byte[] context)
    {
        ReturnValue = null;
        long[] r = new long[11];
        r[1] = Pointer(context, 0);
        byte[] stack = new byte[StackSize];
        r[10] = Pointer(stack, StackSize);
        for (int pc = 0, steps = 0; ; pc++, steps++)
        {
            if (steps > 10_000 || pc >= program.Count)
            {
                throw new InvalidOperationException($"the program ran off its end or looped (at {pc})");
            }

            BpfInstruction i = program[pc];
            int dst = (int)i.Destination, src = (int)i.Source;
            // Registers are 64-bit words that wrap, and are read as whatever width an instruction takes.
            unchecked
            {
                switch (i.Code)
                {
                    case 0x61: r[dst] = (uint)BinaryPrimitives.ReadInt32LittleEndian(Memory(r[src], i.Offset, 4)); break;
                    case 0x79: r[dst] = BinaryPrimitives.ReadInt64LittleEndian(Memory(r[src], i.Offset, 8)); break;
                    case 0x63: BinaryPrimitives.WriteInt32LittleEndian(Memory(r[dst], i.Offset, 4), (int)r[src]); break;
                    case 0x7b: BinaryPrimitives.WriteInt64LittleEndian(Memory(r[dst], i.Offset, 8), r[src]); break;
                    case 0x62: BinaryPrimitives.WriteInt32LittleEndian(Memory(r[dst], i.Offset, 4), i.Immediate); break;
                    case 0xb7: r[dst] = i.Immediate; break;
                    case 0xbf: r[dst] = r[src]; break;
                    case 0xbc: r[dst] = (uint)r[src]; break;
                    case 0x07: r[dst] += i.Immediate; break;
                    case 0x77: r[dst] = (long)((ulong)r[dst] >> i.Immediate); break;
                    case 0xdc when i.Immediate == 16: r[dst] = BinaryPrimitives.ReverseEndianness((ushort)r[dst]); break;
                    case 0x05: pc += i.Offset; break;
                    case 0x15: pc += Branch(pc, r[dst] == i.Immediate, i.Offset); break;
                    case 0x55: pc += Branch(pc, r[dst] != i.Immediate, i.Offset); break;
                    case 0x1d: pc += Branch(pc, r[dst] == r[src], i.Offset); break;
                    case 0x5d: pc += Branch(pc, r[dst] != r[src], i.Offset); break;
                    case 0x2d: pc += Branch(pc, (ulong)r[dst] > (ulong)r[src], i.Offset); break;
                    case 0x35: pc += Branch(pc, (ulong)r[dst] >= (ulong)(long)i.Immediate, i.Offset); break;
                    case 0x85:
                        r[0] = Call((BpfHelper)i.Immediate, r);
                        // The helper's arguments are lost to the caller: the verifier treats R1-R5 as unreadable.
                        Array.Fill(r, unchecked((long)0xDEAD_BEEF_DEAD_BEEF), 1, 5);
                        break;
                    case 0x95: return r[0];
                    case 0x18:
                        // A map descriptor stands for the map itself; a plain 64-bit immediate is its two halves.
                        r[dst] = src == 1 ? MapHandle(i.Immediate) : ((long)program[pc + 1].Immediate << 32) | (uint)i.Immediate;
                        pc++;
                        break;
                    default: throw new InvalidOperationException($"opcode 0x{i.Code:x2} at {pc} is not in the subset this runs");
                }
            }
        }
    }

    private int Branch(int pc, bool taken, short offset)
    {
        (bool wasTaken, bool wasNot) = Branches.GetValueOrDefault(pc);
        Branches[pc] = (wasTaken || taken, wasNot || !taken);
        return taken ? offset : 0;
    }

    private long Call(BpfHelper helper, long[] r) => helper switch
    {
        BpfHelper.MapLookupElement => Map(r[1]).Lookup(Memory(r[2], 0, Map(r[1]).KeySize).ToArray()) is { } value ? Pointer(value, 0) : 0,
        BpfHelper.MapUpdateElement => Map(r[1]).Update(Memory(r[2], 0, Map(r[1]).KeySize).ToArray(), Memory(r[3], 0, Map(r[1]).ValueSize).ToArray()),
        BpfHelper.MapDeleteElement => Map(r[1]).Delete(Memory(r[2], 0, Map(r[1]).KeySize).ToArray()),
        BpfHelper.KtimeGetNs => World.NowNanoseconds,
        BpfHelper.GetCurrentPidTgid => ((long)World.Tgid << 32) | World.Pid,
        BpfHelper.GetCurrentUidGid => ((long)World.Gid << 32) | World.Uid,
        BpfHelper.GetCurrentComm => Comm(r),
        BpfHelper.GetSocketCookie => unchecked((long)World.SocketCookie),
        BpfHelper.GetNetnsCookie => unchecked((long)World.NetnsCookie),
        BpfHelper.GetCurrentAncestorCgroupId => unchecked((long)World.AncestorCgroup((int)r[1])),
        BpfHelper.RingBufferOutput => Output(r),
        BpfHelper.SetReturnValue => SetReturnValue((int)r[1]),
        var other => throw new InvalidOperationException($"helper {other} is not emulated"),
    };

    private long Comm(long[] r)
    {
        Span<byte> destination = Memory(r[1], 0, (int)r[2]);
        destination.Clear();
        System.Text.Encoding.ASCII.GetBytes(World.Command.AsSpan(0, Math.Min(World.Command.Length, destination.Length - 1)), destination);
        return 0;
    }

    private long Output(long[] r)
    {
        Map(r[1]).Records.Add(Memory(r[2], 0, (int)r[3]).ToArray());
        return 0;
    }

    private long SetReturnValue(int value)
    {
        ReturnValue = value;
        return 0;
    }

    private long MapHandle(int fd) => World.Maps.ContainsKey(fd) ? (long)fd << 48 : throw new InvalidOperationException($"no map has descriptor {fd}");

    private BpfMap Map(long handle) => World.Maps[(int)(handle >> 48)];

    private long Pointer(byte[] region, int offset)
    {
        if (!_regionOf.TryGetValue(region, out int index))
        {
            index = _regions.Count;
            _regions.Add(region);
            _regionOf[region] = index;
        }

        return ((long)index << 32) | (uint)offset;
    }

    private Span<byte> Memory(long pointer, int offset, int length)
    {
        int region = unchecked((int)(pointer >> 32));
        long at = unchecked((long)(uint)pointer) + offset;
        if (region <= 0 || region >= _regions.Count || at < 0 || at + length > _regions[region].Length)
        {
            throw new InvalidOperationException($"an access of {length} bytes at 0x{pointer:x}{offset:+0;-0} is out of bounds");
        }

        return _regions[region].AsSpan((int)at, length);
    }
}

/// <summary>The calling process, the clock, the sockets' cookies and the maps a program runs with.</summary>
internal sealed class BpfWorld
{
    public Dictionary<int, BpfMap> Maps { get; } = [];

    public uint Pid { get; set; } = 4242;

    public uint Tgid { get; set; } = 4242;

    public uint Uid { get; set; } = 1000;

    public uint Gid { get; set; } = 1000;

    public string Command { get; set; } = "binder";

    public long NowNanoseconds { get; set; } = 10_000_000_000;

    public ulong SocketCookie { get; set; } = 77;

    public ulong NetnsCookie { get; set; }

    /// <summary>The binder's cgroup ancestor at each level (0 where it has none).</summary>
    public Dictionary<int, ulong> Ancestors { get; } = [];

    public ulong AncestorCgroup(int level) => Ancestors.GetValueOrDefault(level);
}

/// <summary>A map in memory: an array (keys are indices below its size) or a hash; a ring buffer keeps what was output.</summary>
internal sealed class BpfMap(int keySize, int valueSize, int entries, bool array)
{
    private readonly Dictionary<string, byte[]> _elements = [];

    public int KeySize { get; } = keySize;

    public int ValueSize { get; } = valueSize;

    public List<byte[]> Records { get; } = [];

    public static BpfMap Array(int valueSize, int entries) => new(4, valueSize, entries, array: true);

    public static BpfMap Hash(int keySize, int valueSize) => new(keySize, valueSize, int.MaxValue, array: false);

    public static BpfMap RingBuffer() => new(0, 0, 0, array: false);

    /// <summary>The element's value, which the program may write through; an array's are there from the start (zero).</summary>
    public byte[]? Lookup(byte[] key)
    {
        string name = Convert.ToHexString(key);
        if (array && BitConverter.ToUInt32(key) < (uint)entries && !_elements.ContainsKey(name))
        {
            _elements[name] = new byte[ValueSize];
        }

        return _elements.GetValueOrDefault(name);
    }

    public long Update(byte[] key, byte[] value)
    {
        if (array && BitConverter.ToUInt32(key) >= (uint)entries)
        {
            return -7; // -E2BIG
        }

        _elements[Convert.ToHexString(key)] = value;
        return 0;
    }

    public long Delete(byte[] key) => _elements.Remove(Convert.ToHexString(key)) ? 0 : -2;

    /// <summary>Sets an element from the daemon's side, as it writes the maps.</summary>
    public void Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        byte[] element = Lookup(key.ToArray()) ?? (_elements[Convert.ToHexString(key)] = new byte[ValueSize]);
        value.CopyTo(element);
    }

    public void Set(uint key, ReadOnlySpan<byte> value) => Set(BitConverter.GetBytes(key), value);
}
