namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// Writes an eBPF program instruction by instruction, with named labels for jumps (resolved when the program is built:
/// a jump's offset counts instructions from the one after it). Only the instructions the bind hook needs are here, each
/// named after what it does; the opcodes are the classes, modes and operations of <c>&lt;linux/bpf_common.h&gt;</c>
/// and <c>&lt;linux/bpf.h&gt;</c>.
/// </summary>
internal sealed class BpfAssembler
{
    // Opcodes: class | size or operation | source (K: immediate, X: register).
    private const byte LoadWord = 0x61;              // BPF_LDX | BPF_MEM | BPF_W
    private const byte LoadDoubleWord = 0x79;        // BPF_LDX | BPF_MEM | BPF_DW
    private const byte StoreWord = 0x63;             // BPF_STX | BPF_MEM | BPF_W
    private const byte StoreDoubleWord = 0x7b;       // BPF_STX | BPF_MEM | BPF_DW
    private const byte StoreImmediateWord = 0x62;    // BPF_ST | BPF_MEM | BPF_W
    private const byte Move64Immediate = 0xb7;       // BPF_ALU64 | BPF_MOV | BPF_K
    private const byte Move64Register = 0xbf;        // BPF_ALU64 | BPF_MOV | BPF_X
    private const byte Move32Register = 0xbc;        // BPF_ALU | BPF_MOV | BPF_X (zero-extends)
    private const byte Add64Immediate = 0x07;        // BPF_ALU64 | BPF_ADD | BPF_K
    private const byte ShiftRight64Immediate = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
    private const byte ToBigEndian = 0xdc;           // BPF_ALU | BPF_END | BPF_TO_BE
    private const byte JumpAlways = 0x05;            // BPF_JMP | BPF_JA
    private const byte JumpEqualImmediate = 0x15;    // BPF_JMP | BPF_JEQ | BPF_K
    private const byte JumpNotEqualImmediate = 0x55; // BPF_JMP | BPF_JNE | BPF_K
    private const byte JumpEqualRegister = 0x1d;     // BPF_JMP | BPF_JEQ | BPF_X
    private const byte JumpNotEqualRegister = 0x5d;  // BPF_JMP | BPF_JNE | BPF_X
    private const byte JumpGreaterRegister = 0x2d;   // BPF_JMP | BPF_JGT | BPF_X (unsigned)
    private const byte JumpGreaterEqualImmediate = 0x35; // BPF_JMP | BPF_JGE | BPF_K (unsigned)
    private const byte CallHelper = 0x85;            // BPF_JMP | BPF_CALL
    private const byte ExitProgram = 0x95;           // BPF_JMP | BPF_EXIT
    private const byte LoadImmediate64 = 0x18;       // BPF_LD | BPF_IMM | BPF_DW, two instructions
    private const BpfRegister PseudoMapFd = (BpfRegister)1; // BPF_PSEUDO_MAP_FD in the source field of LoadImmediate64

    private readonly List<BpfInstruction> _program = [];
    private readonly Dictionary<string, int> _labels = [];
    private readonly List<(int At, string Label)> _jumps = [];

    /// <summary>Marks the next instruction as <paramref name="name"/>, a jump target.</summary>
    public BpfAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _program.Count))
        {
            throw new InvalidOperationException($"label {name} is defined twice");
        }

        return this;
    }

    /// <summary><c>dst = *(u32 *)(src + offset)</c></summary>
    public BpfAssembler Load32(BpfRegister destination, BpfRegister source, short offset) => Emit(LoadWord, destination, source, offset, 0);

    /// <summary><c>dst = *(u64 *)(src + offset)</c></summary>
    public BpfAssembler Load64(BpfRegister destination, BpfRegister source, short offset) => Emit(LoadDoubleWord, destination, source, offset, 0);

    /// <summary><c>*(u32 *)(dst + offset) = src</c></summary>
    public BpfAssembler Store32(BpfRegister destination, short offset, BpfRegister source) => Emit(StoreWord, destination, source, offset, 0);

    /// <summary><c>*(u64 *)(dst + offset) = src</c></summary>
    public BpfAssembler Store64(BpfRegister destination, short offset, BpfRegister source) => Emit(StoreDoubleWord, destination, source, offset, 0);

    /// <summary><c>*(u32 *)(dst + offset) = value</c></summary>
    public BpfAssembler Store32(BpfRegister destination, short offset, int value) => Emit(StoreImmediateWord, destination, BpfRegister.R0, offset, value);

    /// <summary><c>dst = value</c> (sign-extended to 64 bits)</summary>
    public BpfAssembler Move(BpfRegister destination, int value) => Emit(Move64Immediate, destination, BpfRegister.R0, 0, value);

    /// <summary><c>dst = src</c></summary>
    public BpfAssembler Move(BpfRegister destination, BpfRegister source) => Emit(Move64Register, destination, source, 0, 0);

    /// <summary><c>dst = (u32)src</c>: the low 32 bits, the upper ones cleared.</summary>
    public BpfAssembler Move32(BpfRegister destination, BpfRegister source) => Emit(Move32Register, destination, source, 0, 0);

    /// <summary><c>dst += value</c></summary>
    public BpfAssembler Add(BpfRegister destination, int value) => Emit(Add64Immediate, destination, BpfRegister.R0, 0, value);

    /// <summary><c>dst >>= bits</c> (logical)</summary>
    public BpfAssembler ShiftRight(BpfRegister destination, int bits) => Emit(ShiftRight64Immediate, destination, BpfRegister.R0, 0, bits);

    /// <summary><c>dst = be16(dst)</c>: a 16-bit value in network byte order to host order (and back).</summary>
    public BpfAssembler NetworkToHost16(BpfRegister destination) => Emit(ToBigEndian, destination, BpfRegister.R0, 0, 16);

    /// <summary><c>dst = value</c>, a full 64-bit immediate (two instruction slots).</summary>
    public BpfAssembler Load64(BpfRegister destination, long value)
    {
        Emit(LoadImmediate64, destination, BpfRegister.R0, 0, unchecked((int)value));
        return Emit(0, BpfRegister.R0, BpfRegister.R0, 0, (int)(value >> 32));
    }

    /// <summary><c>dst = map</c>: the kernel replaces the descriptor with the map's address when it loads the program.</summary>
    public BpfAssembler LoadMap(BpfRegister destination, int mapFd)
    {
        Emit(LoadImmediate64, destination, PseudoMapFd, 0, mapFd);
        return Emit(0, BpfRegister.R0, BpfRegister.R0, 0, 0);
    }

    public BpfAssembler Jump(string label) => EmitJump(JumpAlways, BpfRegister.R0, BpfRegister.R0, 0, label);

    public BpfAssembler JumpIfEqual(BpfRegister register, int value, string label) => EmitJump(JumpEqualImmediate, register, BpfRegister.R0, value, label);

    public BpfAssembler JumpIfNotEqual(BpfRegister register, int value, string label) => EmitJump(JumpNotEqualImmediate, register, BpfRegister.R0, value, label);

    public BpfAssembler JumpIfEqual(BpfRegister register, BpfRegister other, string label) => EmitJump(JumpEqualRegister, register, other, 0, label);

    public BpfAssembler JumpIfNotEqual(BpfRegister register, BpfRegister other, string label) => EmitJump(JumpNotEqualRegister, register, other, 0, label);

    /// <summary>Jumps when <paramref name="register"/> is above <paramref name="other"/>, both taken as unsigned.</summary>
    public BpfAssembler JumpIfGreater(BpfRegister register, BpfRegister other, string label) => EmitJump(JumpGreaterRegister, register, other, 0, label);

    /// <summary>Jumps when <paramref name="register"/> is at least <paramref name="value"/>, taken as unsigned.</summary>
    public BpfAssembler JumpIfAtLeast(BpfRegister register, int value, string label) => EmitJump(JumpGreaterEqualImmediate, register, BpfRegister.R0, value, label);

    /// <summary>Calls a kernel helper with R1-R5 as arguments; the result is in R0 and R1-R5 are lost.</summary>
    public BpfAssembler Call(BpfHelper helper) => Emit(CallHelper, BpfRegister.R0, BpfRegister.R0, 0, (int)helper);

    /// <summary>Returns R0.</summary>
    public BpfAssembler Exit() => Emit(ExitProgram, BpfRegister.R0, BpfRegister.R0, 0, 0);

    /// <summary>Each label and the index of the instruction it marks (for a listing of the program).</summary>
    public IReadOnlyDictionary<string, int> Labels => _labels;

    /// <summary>The program with every jump resolved.</summary>
    public IReadOnlyList<BpfInstruction> Build()
    {
        var program = new List<BpfInstruction>(_program);
        foreach ((int at, string label) in _jumps)
        {
            if (!_labels.TryGetValue(label, out int target))
            {
                throw new InvalidOperationException($"jump to undefined label {label}");
            }

            program[at] = program[at] with { Offset = checked((short)(target - (at + 1))) };
        }

        return program;
    }

    private BpfAssembler Emit(byte code, BpfRegister destination, BpfRegister source, short offset, int immediate)
    {
        _program.Add(new BpfInstruction(code, destination, source, offset, immediate));
        return this;
    }

    private BpfAssembler EmitJump(byte code, BpfRegister register, BpfRegister other, int value, string label)
    {
        _jumps.Add((_program.Count, label));
        return Emit(code, register, other, 0, value);
    }
}
