using System.Buffers.Binary;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// A runtime reservation as a restarted daemon reads it back from the pinned <c>runtime</c> map (a hash map keyed by
/// token): written in the kernel commit that precedes its grant, so whatever a client was told it holds is there, and
/// taken out as it is released. The map lives in bpffs, so it goes with a reboot, as runtime reservations must.
/// </summary>
/// <param name="Token">The reservation's token, which its holder re-attaches with.</param>
/// <param name="Block">Its ports.</param>
/// <param name="Owner">Its holder as the earlier daemon knew it: the holder id is that daemon's, the process identity the kernel's.</param>
/// <param name="Tree">The holder's process tree, if it had one.</param>
internal sealed record RuntimeRecord(ulong Token, PortBlock Block, ReservationOwner Owner, ProcessTree Tree)
{
    public const int KeySize = 8;

    /// <summary>
    /// <c>{ u32 format; u32 protocol; u32 flags; u32 start; u32 count; u32 pid; u64 process; i64 holder; u32 uid; u32 gid;
    /// u64 cgroup; u32 level; u32 pad; }</c>, little-endian; a record of another format is not read.
    /// </summary>
    public const int ValueSize = 64;
    private const uint Format = 1;
    private const uint ExclusiveFlag = 1;
    private const uint AdministratorFlag = 2;

    public void Write(Span<byte> key, Span<byte> value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(key, Token);
        value.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(value, Format);
        BinaryPrimitives.WriteUInt32LittleEndian(value[4..], (uint)Block.Protocol);
        BinaryPrimitives.WriteUInt32LittleEndian(value[8..], (Owner.Exclusive ? ExclusiveFlag : 0) | (Owner.Principal.IsAdministrator ? AdministratorFlag : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(value[12..], (uint)Block.Range.Start);
        BinaryPrimitives.WriteUInt32LittleEndian(value[16..], (uint)Block.Range.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(value[20..], (uint)Owner.Principal.Pid);
        BinaryPrimitives.WriteUInt64LittleEndian(value[24..], Owner.Principal.ProcessId);
        BinaryPrimitives.WriteInt64LittleEndian(value[32..], Owner.HolderId.Value);
        BinaryPrimitives.WriteUInt32LittleEndian(value[40..], Owner.Principal.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(value[44..], Owner.Principal.Gid);
        BinaryPrimitives.WriteUInt64LittleEndian(value[48..], Tree.CgroupId);
        BinaryPrimitives.WriteUInt32LittleEndian(value[56..], (uint)Tree.Level);
    }

    /// <summary>The record in <paramref name="value"/>, or null when it is of another format or does not hold a valid block.</summary>
    public static RuntimeRecord? Read(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(value) != Format)
        {
            return null;
        }

        var block = new PortBlock((PortReservationProtocol)BinaryPrimitives.ReadUInt32LittleEndian(value[4..]), Int(value[12..]), Int(value[16..]));
        ulong token = BinaryPrimitives.ReadUInt64LittleEndian(key);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(value[8..]);
        int pid = Int(value[20..]);
        if (token == 0 || pid <= 0 || block.Problem(wildcardAllowed: false) is not null)
        {
            return null;
        }

        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(value[40..]);
        uint gid = BinaryPrimitives.ReadUInt32LittleEndian(value[44..]);

        // The groups are not recorded: whoever restores the record reads them again from the living process.
        var process = new Principal(pid, BinaryPrimitives.ReadUInt64LittleEndian(value[24..]), uid, gid, [gid], (flags & AdministratorFlag) != 0);
        var owner = new ReservationOwner(HolderId.FromRecord(BinaryPrimitives.ReadInt64LittleEndian(value[32..])), process, (flags & ExclusiveFlag) != 0);
        var tree = new ProcessTree(BinaryPrimitives.ReadUInt64LittleEndian(value[48..]), Int(value[56..]));
        return new RuntimeRecord(token, block, owner, tree);
    }

    /// <summary>A u32 field as an int, a value past int's range clamped to it (a port or pid that large is then refused).</summary>
    private static int Int(ReadOnlySpan<byte> field) => (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(field), int.MaxValue);
}
