using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>A bind the hook refused: who tried (process, command name, uid), which port, and the policy that refused it.</summary>
internal readonly record struct RefusedBind(PortReservationProtocol Protocol, int Port, int Pid, uint Uid, string Command, uint Policy);

/// <summary>
/// The ring buffer (<c>BPF_MAP_TYPE_RINGBUF</c>) the bind hook reports each refused bind into, and the daemon's reader
/// of it. The hook reports at most <see cref="ReportsPerUidPerSecond"/> a second for each uid (<see cref="Limits"/>, an
/// LRU hash of <c>{ u64 window start; u64 reports }</c> by uid), so a process that binds in a loop cannot fill the ring
/// and hide other users' refusals; what still does not fit is dropped (<c>bpf_ringbuf_output</c> fails), never the
/// refusal itself. The daemon drains it once a reconcile tick, without a wake-up per record. Each daemon makes its own,
/// unpinned: while no daemon runs, the reports of an earlier one's hook have nobody to read them and are dropped.
/// </summary>
/// <remarks>
/// The record, as the hook writes it at <see cref="StackOffset"/>: <c>{ u32 tgid; u32 uid; u32 port index; u32 policy;
/// char comm[16]; u64 zero; }</c>. In the ring each record follows an 8-byte header whose first word is its length,
/// with bit 31 set while the producer still writes it and bit 30 when it was discarded.
/// </remarks>
internal sealed unsafe class RefusalRing : IDisposable
{
    /// <summary>The ring's size: 1,365 records, at most, wait between two drains.</summary>
    public const int Size = 64 * 1024;

    public const int RecordSize = 40;

    public const int ReportsPerUidPerSecond = 100;

    /// <summary>The uids the limiter tracks at once; the least recently refused one makes way for a new one.</summary>
    public const int LimitedUids = 4096;

    /// <summary>Where on the hook's stack it keeps the limiter's key (the uid) and a new window's value.</summary>
    public const short LimitKeyOffset = -116;

    public const short LimitValueOffset = -112;

    /// <summary>Where on the hook's stack it builds the record (below every slot the rest of the program uses).</summary>
    public const short StackOffset = -80;

    private const uint Busy = 1u << 31;
    private const uint Discarded = 1u << 30;
    private const int HeaderSize = 8;

    private readonly nuint _page = (nuint)Environment.SystemPageSize;
    private readonly nint _consumer;
    private readonly nint _producer;

    private RefusalRing(SafeFileHandle map, SafeFileHandle limits)
    {
        Map = map;
        Limits = limits;
        _consumer = Interop.Bpf.MapPart(map, _page, 0, writable: true);
        try
        {
            _producer = Interop.Bpf.MapPart(map, _page + (2 * Size), (long)_page, writable: false);
        }
        catch
        {
            Interop.Bpf.Unmap(_consumer, _page);
            throw;
        }
    }

    public SafeFileHandle Map { get; }

    public SafeFileHandle Limits { get; }

    public static RefusalRing Create()
    {
        SafeFileHandle map = Interop.Bpf.CreateMap(Interop.Bpf.MapTypeRingBuffer, 0, 0, Size, 0, "pr_refusals");
        SafeFileHandle? limits = null;
        try
        {
            limits = Interop.Bpf.CreateMap(Interop.Bpf.MapTypeLruHash, 4, 16, LimitedUids, 0, "pr_refusal_lim");
            return new RefusalRing(map, limits);
        }
        catch
        {
            limits?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>Hands every complete record written since the last drain to <paramref name="refused"/>, oldest first, and frees its space.</summary>
    public int Drain(Action<RefusedBind> refused)
    {
        ulong* consumerPosition = (ulong*)_consumer;
        ulong consumed = Volatile.Read(ref *consumerPosition);
        ulong produced = Volatile.Read(ref *(ulong*)_producer);
        byte* data = (byte*)_producer + _page;
        int count = 0;
        while (consumed < produced)
        {
            byte* header = data + (consumed & (Size - 1));
            uint length = Volatile.Read(ref *(uint*)header);
            if ((length & Busy) != 0)
            {
                break;
            }

            if ((length & Discarded) == 0 && (length & ~(Busy | Discarded)) == RecordSize)
            {
                refused(Read(new ReadOnlySpan<byte>(header + HeaderSize, RecordSize)));
                count++;
            }

            consumed += ((length & ~(Busy | Discarded)) + HeaderSize + 7) & ~7ul;
            Volatile.Write(ref *consumerPosition, consumed);
        }

        return count;
    }

    public void Dispose()
    {
        Interop.Bpf.Unmap(_consumer, _page);
        Interop.Bpf.Unmap(_producer, _page + (2 * Size));
        Map.Dispose();
        Limits.Dispose();
    }

    private static RefusedBind Read(ReadOnlySpan<byte> record)
    {
        uint index = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
        ReadOnlySpan<byte> comm = record.Slice(16, 16);
        int end = comm.IndexOf((byte)0);
        return new RefusedBind(
            index >= BindHookLayout.PortCount ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp,
            (int)(index % BindHookLayout.PortCount),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(record),
            BinaryPrimitives.ReadUInt32LittleEndian(record[4..]),
            Encoding.UTF8.GetString(end < 0 ? comm : comm[..end]),
            BinaryPrimitives.ReadUInt32LittleEndian(record[12..]));
    }
}
