using static PortReserve.Daemon.Kernel.Bpf.BpfRegister;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// Runs at every process exit on the machine (raw tracepoint <c>sched_process_exit</c>), in the exiting task, before the
/// kernel can give its pid to anyone else: when a thread group's leader exits, its tgid leaves the live-holders map,
/// so the bind hook stops allowing binds by that pid at once, without waiting for the daemon to hear of the exit. An
/// exit of another thread changes nothing.
/// </summary>
internal static class ProcessExitProgram
{
    public static IReadOnlyList<BpfInstruction> Build(int liveMap) => Assemble(liveMap).Build();

    /// <summary>The program before its jumps are resolved: with its labels, for its listing.</summary>
    internal static BpfAssembler Assemble(int liveMap)
    {
        const short Key = -4;
        return new BpfAssembler()
            .Call(BpfHelper.GetCurrentPidTgid)
            .Move(R1, R0)
            .ShiftRight(R1, 32)
            .Move32(R0, R0)
            .JumpIfNotEqual(R0, R1, "done")
            .Store32(R10, Key, R1)
            .LoadMap(R1, liveMap)
            .Move(R2, R10)
            .Add(R2, Key)
            .Call(BpfHelper.MapDeleteElement)
            .Label("done")
            .Move(R0, 0)
            .Exit();
    }
}
