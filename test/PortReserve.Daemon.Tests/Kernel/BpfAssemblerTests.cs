using PortReserve.Daemon.Kernel.Bpf;
using static PortReserve.Daemon.Kernel.Bpf.BpfRegister;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>
/// Each instruction the hook uses, encoded as <c>struct bpf_insn</c>: opcode; destination register in the low nibble
/// and source in the high nibble; 16-bit offset; 32-bit immediate; all little-endian. Expected bytes are written out
/// from the opcode tables of &lt;linux/bpf_common.h&gt; and &lt;linux/bpf.h&gt;.
/// </summary>
public sealed class BpfAssemblerTests
{
    public static TheoryData<string, string> Encodings => new()
    {
        { "ldxw r2, [r6+24]", "6162180000000000" },
        { "ldxdw r9, [r8+8]", "7989080000000000" },
        { "stxw [r10-4], r2", "632afcff00000000" },
        { "stw [r10-20], 1", "620aecff01000000" },
        { "mov64 r6, r1", "bf16000000000000" },
        { "mov64 r1, -13", "b7010000f3ffffff" },
        { "mov32 r1, r0", "bc01000000000000" },
        { "add64 r2, 65536", "0702000000000100" },
        { "rsh64 r0, 32", "7700000020000000" },
        { "be16 r2", "dc02000010000000" },
        { "call 187", "85000000bb000000" },
        { "exit", "9500000000000000" },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Instruction_EncodesAsTheKernelLaysItOut(string instruction, string expected)
    {
        BpfAssembler asm = new();
        _ = instruction switch
        {
            "ldxw r2, [r6+24]" => asm.Load32(R2, R6, 24),
            "ldxdw r9, [r8+8]" => asm.Load64(R9, R8, 8),
            "stxw [r10-4], r2" => asm.Store32(R10, -4, R2),
            "stw [r10-20], 1" => asm.Store32(R10, -20, 1),
            "mov64 r6, r1" => asm.Move(R6, R1),
            "mov64 r1, -13" => asm.Move(R1, -13),
            "mov32 r1, r0" => asm.Move32(R1, R0),
            "add64 r2, 65536" => asm.Add(R2, 65536),
            "rsh64 r0, 32" => asm.ShiftRight(R0, 32),
            "be16 r2" => asm.NetworkToHost16(R2),
            "call 187" => asm.Call(BpfHelper.SetReturnValue),
            "exit" => asm.Exit(),
            _ => throw new ArgumentException(instruction),
        };

        Assert.Equal(expected, Convert.ToHexStringLower(BpfInstruction.Encode(asm.Build())));
    }

    [Fact]
    public void LoadMap_IsAWideLoadWithThePseudoMapFdSource()
    {
        byte[] code = BpfInstruction.Encode(new BpfAssembler().LoadMap(R1, 7).Build());

        Assert.Equal("1811000007000000" + "0000000000000000", Convert.ToHexStringLower(code));
    }

    [Fact]
    public void Load64_SplitsTheImmediateLowHalfFirst()
    {
        byte[] code = BpfInstruction.Encode(new BpfAssembler().Load64(R1, 0x1122334455667788).Build());

        Assert.Equal("1801000088776655" + "0000000044332211", Convert.ToHexStringLower(code));
    }

    [Fact]
    public void Jumps_CountInstructionsFromTheOneAfter_ForwardAndBackward()
    {
        IReadOnlyList<BpfInstruction> program = new BpfAssembler()
            .Label("top")
            .JumpIfEqual(R2, 0, "end")
            .JumpIfNotEqual(R0, R1, "top")
            .Load64(R1, 5)
            .Label("end")
            .Exit()
            .Build();

        Assert.Equal(("1502030000000000", "5d10feff00000000"), (Hex(program[0]), Hex(program[1])));
    }

    [Fact]
    public void Jump_ToAnUndefinedLabel_FailsTheBuild()
    {
        Assert.Throws<InvalidOperationException>(() => new BpfAssembler().Jump("nowhere").Build());
    }

    private static string Hex(BpfInstruction instruction)
    {
        byte[] bytes = new byte[BpfInstruction.Size];
        instruction.WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
