using System.Buffers.Binary;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// One eBPF instruction as <c>struct bpf_insn</c> lays it out: an opcode byte, the destination register in the low
/// nibble and the source register in the high nibble of the second byte, a signed 16-bit offset and a signed 32-bit
/// immediate, both little-endian (the kernel's byte order on every architecture the daemon runs on).
/// </summary>
internal readonly record struct BpfInstruction(byte Code, BpfRegister Destination, BpfRegister Source, short Offset, int Immediate)
{
    public const int Size = 8;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = Code;
        destination[1] = (byte)(((byte)Source << 4) | (byte)Destination);
        BinaryPrimitives.WriteInt16LittleEndian(destination[2..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Immediate);
    }

    public static byte[] Encode(IReadOnlyList<BpfInstruction> program)
    {
        byte[] code = new byte[program.Count * Size];
        for (int i = 0; i < program.Count; i++)
        {
            program[i].WriteTo(code.AsSpan(i * Size));
        }

        return code;
    }
}
