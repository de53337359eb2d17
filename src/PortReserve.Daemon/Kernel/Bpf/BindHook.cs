using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The bind hook loaded for IPv4 and IPv6 binds, before the kernel takes the port and after, and attached to a cgroup (the root of the cgroup v2 hierarchy, so every
/// process is under it) with bpf links, and the exit program that keeps its live map true. Pinned (<see cref="PinDirectory"/>),
/// the links outlive the daemon: the next daemon swaps its own programs into them (<c>BPF_LINK_UPDATE</c>), so binds are
/// never unchecked in between. Unpinned, the attachment lasts exactly as long as this object's descriptors.
/// </summary>
internal sealed class BindHook : IDisposable
{
    public const string ExitLink = "exit";
    public static readonly string[] BindLinks = ["bind4", "bind6", "postbind4", "postbind6"];

    /// <summary>What each bind program is loaded as and attached to, in <see cref="BindLinks"/>' order.</summary>
    private static readonly (int ProgramType, int AttachType, string Name)[] s_bindPrograms =
    [
        (Interop.Bpf.ProgramTypeCgroupSockAddr, Interop.Bpf.AttachCgroupInet4Bind, "pr_bind4"),
        (Interop.Bpf.ProgramTypeCgroupSockAddr, Interop.Bpf.AttachCgroupInet6Bind, "pr_bind6"),
        (Interop.Bpf.ProgramTypeCgroupSock, Interop.Bpf.AttachCgroupInet4PostBind, "pr_postbind4"),
        (Interop.Bpf.ProgramTypeCgroupSock, Interop.Bpf.AttachCgroupInet6PostBind, "pr_postbind6"),
    ];

    private readonly BindHookMaps _maps;
    private readonly SafeFileHandle _exit;
    private readonly SafeFileHandle[] _bind;
    private readonly List<SafeFileHandle> _links = [];
    private SafeFileHandle? _exitLink;

    private BindHook(BindHookMaps maps, SafeFileHandle exit, SafeFileHandle[] bind)
    {
        _maps = maps;
        _exit = exit;
        _bind = bind;
    }

    /// <summary>
    /// Loads the exit program and the bind program twice (each attach type is fixed at load), attaching nothing yet: a
    /// kernel that refuses them says so before the daemon has changed anything.
    /// </summary>
    public static BindHook Load(BindHookMaps maps, ulong netnsCookie)
    {
        byte[] beforeBind = BpfInstruction.Encode(Build(maps, netnsCookie, afterBind: false));
        byte[] afterBind = BpfInstruction.Encode(Build(maps, netnsCookie, afterBind: true));
        var handles = new List<SafeFileHandle>();
        try
        {
            handles.Add(Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeRawTracepoint, 0, BpfInstruction.Encode(ProcessExitProgram.Build(Fd(maps.Live))), "pr_exit"));
            foreach ((int programType, int attachType, string name) in s_bindPrograms)
            {
                handles.Add(Interop.Bpf.LoadProgram(programType, attachType, programType == Interop.Bpf.ProgramTypeCgroupSock ? afterBind : beforeBind, name));
            }

            return new BindHook(maps, handles[0], [.. handles.Skip(1)]);
        }
        catch
        {
            handles.ForEach(handle => handle.Dispose());
            throw;
        }
    }

    /// <summary>Loads and attaches at once (see <see cref="Attach(SafeFileHandle, PinDirectory?)"/>).</summary>
    public static BindHook Attach(BindHookMaps maps, ulong netnsCookie, SafeFileHandle cgroup, PinDirectory? pins = null)
    {
        BindHook hook = Load(maps, netnsCookie);
        try
        {
            hook.Attach(cgroup, pins);
            return hook;
        }
        catch
        {
            hook.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the exit program from now on: it takes each exiting process's tgid out of the live map, so that no policy is
    /// ever honoured for a pid whose process is gone. Call before the maps are first written (a live entry written
    /// after that is kept true by it); <see cref="Attach"/> does it if nothing did.
    /// </summary>
    public void RunExitProgram() => _exitLink ??= Keep(Interop.Bpf.OpenRawTracepoint(_exit, "sched_process_exit"));

    /// <summary>
    /// Links the programs: the exit program if it does not run yet, then the bind program to <paramref name="cgroup"/>
    /// for IPv4 and IPv6. With <paramref name="pins"/>, the maps are pinned there first, links pinned by an earlier
    /// daemon are given these programs instead, and only then does the earlier exit program's pin give way to this one's:
    /// the earlier live map stays true for as long as an earlier bind program may read it. Call once the maps hold
    /// everything that must be enforced.
    /// </summary>
    public void Attach(SafeFileHandle cgroup, PinDirectory? pins)
    {
        RunExitProgram();
        _maps.Pin(pins);
        for (int i = 0; i < _bind.Length; i++)
        {
            Keep(Link(_bind[i], cgroup, s_bindPrograms[i].AttachType, pins, BindLinks[i]));
        }

        pins?.Replace(ExitLink, _exitLink!);
        pins?.RemoveAllBut(PinNames);
    }

    /// <summary>Everything the hooks pin: their links and their maps.</summary>
    public static IReadOnlyList<string> PinNames { get; } = [.. BindLinks, ExitLink, .. BindHookMaps.PinNames];

    /// <summary>
    /// Detaches what an earlier daemon pinned in <paramref name="pins"/> and unpins its maps: nothing stays enforced.
    /// Returns the names it removed.
    /// </summary>
    public static IReadOnlyList<string> Unpin(PinDirectory pins)
        => pins.RemoveAllBut([]);

    /// <summary>
    /// The pinned link of an earlier daemon, given <paramref name="program"/> in one step; otherwise (none, or one that
    /// cannot take it) a new link, pinned in its place.
    /// </summary>
    private static SafeFileHandle Link(SafeFileHandle program, SafeFileHandle cgroup, int attachType, PinDirectory? pins, string pin)
    {
        if (pins?.Find(pin) is { } pinned)
        {
            try
            {
                Interop.Bpf.UpdateLink(pinned, program);
                return pinned;
            }
            catch (IOException)
            {
                pinned.Dispose();
            }
        }

        SafeFileHandle link = Interop.Bpf.CreateLink(program, cgroup, attachType);
        try
        {
            pins?.Replace(pin, link);
        }
        catch
        {
            link.Dispose();
            throw;
        }

        return link;
    }

    private SafeFileHandle Keep(SafeFileHandle link)
    {
        _links.Add(link);
        return link;
    }

    /// <summary>Loads the program without attaching it, as a check that this kernel accepts it; throws with the verifier's log when not.</summary>
    public static void Verify(BindHookMaps maps, ulong netnsCookie)
    {
        Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeCgroupSockAddr, Interop.Bpf.AttachCgroupInet4Bind, BpfInstruction.Encode(Build(maps, netnsCookie, afterBind: false)), "pr_bind_check").Dispose();
        Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeCgroupSock, Interop.Bpf.AttachCgroupInet4PostBind, BpfInstruction.Encode(Build(maps, netnsCookie, afterBind: true)), "pr_post_check").Dispose();
    }

    private static IReadOnlyList<BpfInstruction> Build(BindHookMaps maps, ulong netnsCookie, bool afterBind)
        => BindHookProgram.Build(Fd(maps.Ports), Fd(maps.Policies), Fd(maps.Allow), Fd(maps.Live), (Fd(maps.Refusals.Map), Fd(maps.Refusals.Limits)), netnsCookie, afterBind);

    /// <summary>Closes the descriptors: unpinned links detach, pinned ones stay.</summary>
    public void Dispose()
    {
        foreach (SafeFileHandle handle in (SafeFileHandle[])[.. _links, _exit, .. _bind])
        {
            handle.Dispose();
        }
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();
}
