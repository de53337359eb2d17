using System.Globalization;
using System.Text;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel.Bpf;

/// <summary>
/// A program as a reviewer reads it: one instruction a line, in the notation of the kernel's verifier log (<c>r2 =
/// *(u32 *)(r6 +24)</c>), with its labels, map names for map descriptors and helper names for calls.
/// </summary>
internal static class BpfListing
{
    public static string Render(BpfAssembler assembler, IReadOnlyDictionary<int, string> maps)
    {
        IReadOnlyList<BpfInstruction> program = assembler.Build();
        ILookup<int, string> labels = assembler.Labels.ToLookup(l => l.Value, l => l.Key);
        var text = new StringBuilder();
        for (int i = 0; i < program.Count; i++)
        {
            foreach (string label in labels[i].Order(StringComparer.Ordinal))
            {
                text.Append(label).Append(":\n");
            }

            BpfInstruction instruction = program[i];
            string target = Target(assembler, i + 1 + instruction.Offset);
            text.Append(CultureInfo.InvariantCulture, $"{i,5}: {Describe(instruction, program, i, target, maps)}\n");
            if (instruction.Code == 0x18)
            {
                i++;
            }
        }

        return text.ToString();
    }

    private static string Target(BpfAssembler assembler, int index)
        => assembler.Labels.Where(l => l.Value == index).Select(l => l.Key).Order(StringComparer.Ordinal).FirstOrDefault() is { } name ? $"{name} <{index}>" : $"<{index}>";

    private static string Describe(BpfInstruction instruction, IReadOnlyList<BpfInstruction> program, int at, string target, IReadOnlyDictionary<int, string> maps)
    {
        string dst = Register(instruction.Destination), src = Register(instruction.Source);
        int imm = instruction.Immediate;
        string offset = instruction.Offset >= 0 ? $"+{instruction.Offset}" : instruction.Offset.ToString(CultureInfo.InvariantCulture);
        return instruction.Code switch
        {
            0x61 => $"{dst} = *(u32 *)({src} {offset})",
            0x79 => $"{dst} = *(u64 *)({src} {offset})",
            0x63 => $"*(u32 *)({dst} {offset}) = {src}",
            0x7b => $"*(u64 *)({dst} {offset}) = {src}",
            0x62 => $"*(u32 *)({dst} {offset}) = {imm}",
            0xb7 => $"{dst} = {imm}",
            0xbf => $"{dst} = {src}",
            0xbc => $"w{dst[1..]} = w{src[1..]}",
            0x07 => $"{dst} += {imm}",
            0x77 => $"{dst} >>= {imm}",
            0xdc => $"{dst} = be{imm} {dst}",
            0x05 => $"goto {target}",
            0x15 => $"if {dst} == {imm} goto {target}",
            0x55 => $"if {dst} != {imm} goto {target}",
            0x1d => $"if {dst} == {src} goto {target}",
            0x5d => $"if {dst} != {src} goto {target}",
            0x2d => $"if {dst} > {src} goto {target}",
            0x35 => $"if {dst} >= {imm} goto {target}",
            0x85 => $"call {Helper(imm)}#{imm}",
            0x95 => "exit",
            0x18 when (int)instruction.Source == 1 => $"{dst} = map[{(maps.TryGetValue(imm, out string? name) ? name : $"fd {imm}")}]",
            0x18 => $"{dst} = 0x{((long)program[at + 1].Immediate << 32) | (uint)imm:x} ll",
            _ => throw new InvalidOperationException($"instruction {at} has opcode 0x{instruction.Code:x2}, which the listing does not know"),
        };
    }

    private static string Register(BpfRegister register) => $"r{(int)register}";

    private static string Helper(int number) => (BpfHelper)number switch
    {
        BpfHelper.MapLookupElement => "bpf_map_lookup_elem",
        BpfHelper.MapUpdateElement => "bpf_map_update_elem",
        BpfHelper.MapDeleteElement => "bpf_map_delete_elem",
        BpfHelper.KtimeGetNs => "bpf_ktime_get_ns",
        BpfHelper.GetCurrentPidTgid => "bpf_get_current_pid_tgid",
        BpfHelper.GetCurrentUidGid => "bpf_get_current_uid_gid",
        BpfHelper.GetCurrentComm => "bpf_get_current_comm",
        BpfHelper.GetSocketCookie => "bpf_get_socket_cookie",
        BpfHelper.GetCurrentCgroupId => "bpf_get_current_cgroup_id",
        BpfHelper.GetCurrentAncestorCgroupId => "bpf_get_current_ancestor_cgroup_id",
        BpfHelper.GetNetnsCookie => "bpf_get_netns_cookie",
        BpfHelper.RingBufferOutput => "bpf_ringbuf_output",
        BpfHelper.SetReturnValue => "bpf_set_retval",
        var other => throw new InvalidOperationException($"helper {(int)other} is not named in the listing"),
    };
}
