using static PortReserve.Daemon.Kernel.Bpf.BpfRegister;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The cgroup bind hook (<c>BPF_PROG_TYPE_CGROUP_SOCK_ADDR</c>, attached to <c>INET4_BIND</c> and <c>INET6_BIND</c>). It
/// runs on every bind on the machine, so the way through for a port nobody holds is a handful of instructions: port 0
/// is allowed (the kernel chooses, and ip_local_reserved_ports steers it), a port with no entry is allowed, and a bind
/// in another network namespace is allowed. Otherwise the port's policy decides; a refusal sets <c>EACCES</c>, the
/// error Windows gives for a port reserved by someone else.
/// </summary>
/// <remarks>
/// <para>Registers. R1-R5 carry a helper's arguments and are lost at every call; R0 holds its result, and the verdict
/// at exit. R6: the context (<c>struct bpf_sock_addr</c>, or <c>struct bpf_sock</c> after the bind), for the helpers
/// that take it. R7: the port's policy id, from the ports lookup to the end. R8: the probe socket's cookie, then the
/// address of the policy's element; in the report, the uid. R9: what must outlive a call: the time (lease), the
/// uid/gid word (persistent), the pid/tgid word (processes that associated), the tree's cgroup id; in the report, the
/// time again. R10: the frame pointer, read-only; the 512-byte stack lies below it.</para>
/// <para>Stack slots, below R10. <see cref="PortKeySlot"/>: the port's index, the ports map's key, read again by the
/// report. <see cref="PolicyKeySlot"/>: the policies key (0 for the probe, then the policy id).
/// <see cref="LiveKeySlot"/>: a tgid, the live map's key. <see cref="LeaseKeySlot"/>: 0, the lease's element.
/// <see cref="AllowKeySlot"/>: the 12-byte allow key. The report's: its 40-byte record at
/// <see cref="RefusalRing.StackOffset"/>, the limiter's 16-byte window at <see cref="RefusalRing.LimitValueOffset"/> and
/// its key (the uid) at <see cref="RefusalRing.LimitKeyOffset"/>, the deepest, at -116.</para>
/// <para>Kernel floor: <c>bpf_set_retval</c> (5.18) is the newest helper; cgroup bind programs returning 3 to waive
/// <c>CAP_NET_BIND_SERVICE</c> need 5.12, BPF ring buffers 5.8, cgroup BPF links and <c>bpf_get_netns_cookie</c> for
/// these hooks 5.7; the exit program's raw tracepoint is older. The daemon loads the programs at start, and the
/// verifier's refusal on an older kernel turns exclusive binds off (auto) or stops the start (on), saying why.</para>
/// </remarks>
internal static class BindHookProgram
{
    private const short PortKeySlot = -4;
    private const short PolicyKeySlot = -8;
    private const short LiveKeySlot = -12;
    private const short LeaseKeySlot = -16;
    private const short AllowKeySlot = -24;
    private const string Allow = "allow";
    private const string AllowPrivileged = "allow-privileged";
    private const string Deny = "deny";

    /// <summary>
    /// The program for <c>INET4_BIND</c>/<c>INET6_BIND</c>, which runs before the kernel takes the port; with
    /// <paramref name="afterBind"/>, the same policy for <c>INET4_POST_BIND</c>/<c>INET6_POST_BIND</c>
    /// (<c>BPF_PROG_TYPE_CGROUP_SOCK</c>), which runs once the socket holds its port and refuses it (the kernel gives
    /// the port back) to a bind that passed the first hook before the port was reserved and took it only after the
    /// daemon checked it was free.
    /// </summary>
    public static IReadOnlyList<BpfInstruction> Build(int portsMap, int policiesMap, int allowMap, int liveMap, (int Ring, int Limits) refusals, ulong netnsCookie, bool afterBind = false)
        => Assemble(portsMap, policiesMap, allowMap, liveMap, refusals, netnsCookie, afterBind).Build();

    /// <summary>The program as <see cref="Build"/> makes it, before its jumps are resolved: with its labels, for its listing.</summary>
    internal static BpfAssembler Assemble(int portsMap, int policiesMap, int allowMap, int liveMap, (int Ring, int Limits) refusals, ulong netnsCookie, bool afterBind)
    {
        var asm = new BpfAssembler();

        // The port, in host order; port 0 and protocols other than TCP and UDP are never ours.
        asm.Move(R6, R1);
        if (afterBind)
        {
            asm.Load32(R2, R6, BindHookLayout.SocketSourcePort)
                .JumpIfEqual(R2, 0, Allow)
                .Load32(R3, R6, BindHookLayout.SocketProtocol);
        }
        else
        {
            asm.Load32(R2, R6, BindHookLayout.ContextUserPort)
                .NetworkToHost16(R2)
                .JumpIfEqual(R2, 0, Allow)
                .Load32(R3, R6, BindHookLayout.ContextProtocol);
        }

        asm.JumpIfEqual(R3, BindHookLayout.IpProtocolTcp, "lookup-port")
            .JumpIfNotEqual(R3, BindHookLayout.IpProtocolUdp, Allow)
            .Add(R2, BindHookLayout.PortCount)
            .Label("lookup-port");

        // The port's policy id; 0 means nobody holds it exclusively.
        Lookup(asm, portsMap, R2, PortKeySlot)
            .JumpIfEqual(R0, 0, Allow)
            .Load32(R7, R0, 0)
            .JumpIfEqual(R7, 0, Allow);

        // Only binds in the daemon's own network namespace are its business.
        asm.Move(R1, R6)
            .Call(BpfHelper.GetNetnsCookie)
            .Load64(R1, unchecked((long)netnsCookie))
            .JumpIfNotEqual(R0, R1, Allow);

        // The daemon's own probe socket binds whatever it must test (enforcement comes before the in-use check).
        Lookup(asm, policiesMap, (int)BindHookLayout.ProbePolicy, PolicyKeySlot)
            .JumpIfEqual(R0, 0, Deny)
            .Load64(R8, R0, BindHookLayout.ProbeCookieOffset)
            .JumpIfEqual(R8, 0, "policy")
            .Move(R1, R6)
            .Call(BpfHelper.GetSocketCookie)
            .JumpIfEqual(R0, R8, Allow)
            .Label("policy");

        Lookup(asm, policiesMap, R7, PolicyKeySlot)
            .JumpIfEqual(R0, 0, Deny)
            .Move(R8, R0)
            .Load32(R1, R8, BindHookLayout.PolicyKindOffset)
            .JumpIfEqual(R1, (int)BindHookLayout.Persistent, "persistent");

        // A runtime holder's claim lapses once no daemon has renewed the lease in time: a daemon stopped for good leaves
        // nobody to release what holders that exit since leave behind.
        asm.Call(BpfHelper.KtimeGetNs)
            .Move(R9, R0);
        Lookup(asm, policiesMap, (int)BindHookLayout.ProbePolicy, LeaseKeySlot)
            .JumpIfEqual(R0, 0, Deny)
            .Load64(R1, R0, BindHookLayout.LeaseOffset)
            .JumpIfGreater(R9, R1, Allow);

        // A runtime holder: its own process while it lives (tgid 0 once the daemon heard of the exit, and out of the live
        // map from the moment of the exit), or any process of its process tree: in the tree's cgroup or beneath it,
        // which is where the binder's ancestor at the tree's level is the tree.
        asm.Call(BpfHelper.GetCurrentPidTgid)
            .ShiftRight(R0, 32)
            .Load32(R1, R8, BindHookLayout.PolicyTgidOffset)
            .JumpIfEqual(R1, 0, "tree")
            .JumpIfNotEqual(R0, R1, "tree");
        Lookup(asm, liveMap, R0, LiveKeySlot)
            .JumpIfNotEqual(R0, 0, Allow)
            .Label("tree")
            .Load64(R9, R8, BindHookLayout.PolicyCgroupOffset)
            .JumpIfEqual(R9, 0, Deny)
            .Load32(R1, R8, BindHookLayout.PolicyLevelOffset)
            .Call(BpfHelper.GetCurrentAncestorCgroupId)
            .JumpIfEqual(R0, R9, Allow)
            .Jump(Deny);

        // A persistent reservation: root, its uids and gids, the administrators', then processes that associated with it.
        // Whoever it allows may also bind its ports below net.ipv4.ip_unprivileged_port_start without
        // CAP_NET_BIND_SERVICE: the reservation, made by an administrator, is the permission. Not uid 0 as such: root
        // binds them with its capability, and a root service that dropped it must not get it back here.
        asm.Label("persistent")
            .Call(BpfHelper.GetCurrentUidGid)
            .Move(R9, R0)
            .Move32(R1, R0)
            .JumpIfEqual(R1, 0, Allow);
        AllowedIf(asm, allowMap, policy: R7, BindHookLayout.AllowUid, idFromR9HighHalf: false, then: AllowPrivileged);
        AllowedIf(asm, allowMap, policy: R7, BindHookLayout.AllowGid, idFromR9HighHalf: true, then: AllowPrivileged);
        AllowedIf(asm, allowMap, policy: null, BindHookLayout.AllowUid, idFromR9HighHalf: false, then: AllowPrivileged);
        AllowedIf(asm, allowMap, policy: null, BindHookLayout.AllowGid, idFromR9HighHalf: true, then: AllowPrivileged);
        asm.Call(BpfHelper.GetCurrentPidTgid)
            .Move(R9, R0);
        AllowedIf(asm, allowMap, policy: R7, BindHookLayout.AllowProcess, idFromR9HighHalf: true, then: "process-live");
        asm.Jump(Deny);

        // A process let use the reservation binds while it lives: its tgid leaves the live map as it exits.
        asm.Label("process-live")
            .ShiftRight(R9, 32);
        Lookup(asm, liveMap, R9, LiveKeySlot)
            .JumpIfNotEqual(R0, 0, AllowPrivileged);

        // 3 is 1 (allow) with BPF_RET_BIND_NO_CAP_NET_BIND_SERVICE: INET4_BIND and INET6_BIND only; the post-bind hooks
        // run after the kernel's own check and take 0 or 1.
        // A refusal is reported to the daemon (RefusalRing): who, which port, which policy. Only refused binds pay for
        // it, and a full ring drops the report, never the refusal. Not after the bind: the refused socket holds its port
        // until the program returns, and another process's bind meanwhile fails with EADDRINUSE, so that program refuses
        // at once (such refusals, of binds under way as the port was reserved, go unreported).
        asm.Label(Deny);
        if (!afterBind)
        {
            Report(asm, refusals);
        }

        asm.Label("refuse")
            .Move(R1, -Interop.Bpf.EACCES)
            .Call(BpfHelper.SetReturnValue)
            .Move(R0, 0)
            .Exit()
            .Label(AllowPrivileged)
            .Move(R0, afterBind ? 1 : BindHookLayout.AllowWithoutBindServiceCapability)
            .Exit()
            .Label(Allow)
            .Move(R0, 1)
            .Exit();
        return asm;
    }

    /// <summary>
    /// Reports a refused bind into the ring, within the uid's reports for this second (R9: now; R8: the uid; the
    /// limiter's element in R0). R7 holds the policy, and the port's index is still in the ports lookup's key slot.
    /// </summary>
    private static void Report(BpfAssembler asm, (int Ring, int Limits) refusals)
    {
        const short Record = RefusalRing.StackOffset;
        const short Key = RefusalRing.LimitKeyOffset;
        const short Window = RefusalRing.LimitValueOffset;
        asm.Call(BpfHelper.KtimeGetNs)
            .Move(R9, R0)
            .Call(BpfHelper.GetCurrentUidGid)
            .Move32(R8, R0)
            .Store32(R10, Key, R8)
            .LoadMap(R1, refusals.Limits)
            .Move(R2, R10)
            .Add(R2, Key)
            .Call(BpfHelper.MapLookupElement)
            .JumpIfEqual(R0, 0, "new-window")
            .Load64(R1, R0, 0)
            .Add(R1, 1_000_000_000)
            .JumpIfGreater(R9, R1, "new-window")
            .Load64(R1, R0, 8)
            .JumpIfAtLeast(R1, RefusalRing.ReportsPerUidPerSecond, "refuse")
            .Add(R1, 1)
            .Store64(R0, 8, R1)
            .Jump("report")
            .Label("new-window")
            .Store64(R10, Window, R9)
            .Move(R1, 1)
            .Store64(R10, Window + 8, R1)
            .LoadMap(R1, refusals.Limits)
            .Move(R2, R10)
            .Add(R2, Key)
            .Move(R3, R10)
            .Add(R3, Window)
            .Move(R4, 0)
            .Call(BpfHelper.MapUpdateElement)
            .Label("report")
            .Call(BpfHelper.GetCurrentPidTgid)
            .ShiftRight(R0, 32)
            .Store32(R10, Record, R0)
            .Store32(R10, Record + 4, R8)
            .Load32(R1, R10, PortKeySlot)
            .Store32(R10, Record + 8, R1)
            .Store32(R10, Record + 12, R7)
            .Move(R1, R10)
            .Add(R1, Record + 16)
            .Move(R2, 16)
            .Call(BpfHelper.GetCurrentComm)
            .Store32(R10, Record + 32, 0)
            .Store32(R10, Record + 36, 0)
            .LoadMap(R1, refusals.Ring)
            .Move(R2, R10)
            .Add(R2, Record)
            .Move(R3, RefusalRing.RecordSize)
            .Move(R4, BindHookLayout.RingBufferNoWakeup)
            .Call(BpfHelper.RingBufferOutput);
    }

    /// <summary>R0 = the element of <paramref name="map"/> whose 4-byte key is <paramref name="key"/> (via the stack slot at <paramref name="slot"/>), or 0.</summary>
    private static BpfAssembler Lookup(BpfAssembler asm, int map, BpfRegister key, short slot)
        => LookupAt(asm.Store32(R10, slot, key), map, slot);

    /// <summary>As the other, for a constant key.</summary>
    private static BpfAssembler Lookup(BpfAssembler asm, int map, int key, short slot)
        => LookupAt(asm.Store32(R10, slot, key), map, slot);

    private static BpfAssembler LookupAt(BpfAssembler asm, int map, short slot)
        => asm.LoadMap(R1, map)
            .Move(R2, R10)
            .Add(R2, slot)
            .Call(BpfHelper.MapLookupElement);

    /// <summary>
    /// Goes to <paramref name="then"/> (allows the bind) when the allow map has {policy (R7, or 0 for administrators),
    /// kind, id}, the id being R9's low half (the uid of get_current_uid_gid) or its high half (the gid, or the tgid of
    /// get_current_pid_tgid).
    /// </summary>
    private static void AllowedIf(BpfAssembler asm, int allowMap, BpfRegister? policy, uint kind, bool idFromR9HighHalf, string then = Allow)
    {
        const short Key = AllowKeySlot;
        if (policy is { } register)
        {
            asm.Store32(R10, Key, register);
        }
        else
        {
            asm.Store32(R10, Key, (int)BindHookLayout.AdministratorsPolicy);
        }

        asm.Move(R1, R9);
        if (idFromR9HighHalf)
        {
            asm.ShiftRight(R1, 32);
        }
        else
        {
            asm.Move32(R1, R1);
        }

        asm.Store32(R10, Key + 4, (int)kind)
            .Store32(R10, Key + 8, R1)
            .LoadMap(R1, allowMap)
            .Move(R2, R10)
            .Add(R2, Key)
            .Call(BpfHelper.MapLookupElement)
            .JumpIfNotEqual(R0, 0, then);
    }
}
