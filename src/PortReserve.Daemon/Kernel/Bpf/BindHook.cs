using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The bind hook loaded for IPv4 and IPv6 binds and attached to a cgroup (the root of the cgroup v2 hierarchy, so every
/// process is under it) with bpf links: the attachment lasts exactly as long as this object's descriptors, so a daemon
/// that exits or is killed takes its hook with it.
/// </summary>
internal sealed class BindHook : IDisposable
{
    private readonly SafeFileHandle[] _handles;

    private BindHook(SafeFileHandle[] handles) => _handles = handles;

    /// <summary>
    /// Loads the program twice (each attach type is fixed at load) and links both to <paramref name="cgroup"/>; first
    /// the exit program that keeps the live map true, so that no policy is ever honoured for a pid whose process is gone.
    /// </summary>
    public static BindHook Attach(BindHookMaps maps, ulong netnsCookie, SafeFileHandle cgroup)
    {
        byte[] code = BpfInstruction.Encode(Build(maps, netnsCookie));
        var handles = new List<SafeFileHandle>();
        try
        {
            SafeFileHandle exit = Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeRawTracepoint, 0, BpfInstruction.Encode(ProcessExitProgram.Build(Fd(maps.Live))), "pr_exit");
            handles.Add(exit);
            handles.Add(Interop.Bpf.OpenRawTracepoint(exit, "sched_process_exit"));
            foreach ((int attachType, string name) in (ReadOnlySpan<(int, string)>)[(Interop.Bpf.AttachCgroupInet4Bind, "pr_bind4"), (Interop.Bpf.AttachCgroupInet6Bind, "pr_bind6")])
            {
                SafeFileHandle program = Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeCgroupSockAddr, attachType, code, name);
                handles.Add(program);
                handles.Add(Interop.Bpf.CreateLink(program, cgroup, attachType));
            }

            return new BindHook([.. handles]);
        }
        catch
        {
            handles.ForEach(handle => handle.Dispose());
            throw;
        }
    }

    /// <summary>Loads the program without attaching it, as a check that this kernel accepts it; throws with the verifier's log when not.</summary>
    public static void Verify(BindHookMaps maps, ulong netnsCookie)
    {
        byte[] code = BpfInstruction.Encode(Build(maps, netnsCookie));
        Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeCgroupSockAddr, Interop.Bpf.AttachCgroupInet4Bind, code, "pr_bind_check").Dispose();
    }

    private static IReadOnlyList<BpfInstruction> Build(BindHookMaps maps, ulong netnsCookie)
        => BindHookProgram.Build(Fd(maps.Ports), Fd(maps.Policies), Fd(maps.Allow), Fd(maps.Live), netnsCookie);

    public void Dispose()
    {
        foreach (SafeFileHandle handle in _handles)
        {
            handle.Dispose();
        }
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();
}
