using System.Buffers.Binary;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel.Bpf;

/// <summary>
/// The bind hook's decisions, run by <see cref="BpfInterpreter"/> with no kernel and no root: each case is a binder and
/// the maps as the daemon writes them, and the outcome the kernel would act on. Together the cases take every
/// conditional jump of both programs both ways, save those the verifier demands but no map can make go the other way.
/// </summary>
public sealed class BindHookLogicTests
{
    private const int Ports = 101, Policies = 102, Allow = 103, Live = 104, Ring = 105, Limits = 106;
    private const ulong Netns = 0x1122_3344_5566_7788;
    private const int Port = 8080;
    private const uint HolderTgid = 500, TreeCgroup = 9001, TreeLevel = 3, AllowedUid = 33, AllowedGid = 34, AdminGid = 50;
    private const uint RuntimePolicy = 5, PersistentPolicy = 6;
    private const int Eacces = 13;

    public enum Outcome
    {
        /// <summary>1: the bind goes ahead, the kernel's own rules unchanged.</summary>
        Allowed,

        /// <summary>3 before the bind: allowed, and CAP_NET_BIND_SERVICE waived; 1 after it.</summary>
        AllowedPrivileged,

        /// <summary>0 with EACCES, and a report in the ring (before the bind only).</summary>
        Refused,

        /// <summary>0 with EACCES, the uid's reports for this second spent.</summary>
        RefusedUnreported,
    }

    private static readonly Dictionary<string, (Action<BpfWorld> Arrange, int Protocol, int Port, Outcome Expected)> s_cases = new()
    {
        ["port 0: the kernel chooses"] = (_ => { }, 6, 0, Outcome.Allowed),
        ["neither TCP nor UDP (TCP's port of that number held)"] = (w => RuntimeHolder(w), 132, Port, Outcome.Allowed),
        ["a TCP port nobody holds"] = (_ => { }, 6, Port, Outcome.Allowed),
        ["a UDP port held, by the binder's own process"] = (w => { RuntimeHolder(w, 17); w.Tgid = HolderTgid; }, 17, Port, Outcome.Allowed),
        ["a held port, bound in another network namespace"] = (w => { RuntimeHolder(w); w.NetnsCookie = 1; }, 6, Port, Outcome.Allowed),
        ["the daemon's probe socket"] = (w => { RuntimeHolder(w); Probe(w, cookie: 77); }, 6, Port, Outcome.Allowed),
        ["another socket while the daemon probes"] = (w => { RuntimeHolder(w); Probe(w, cookie: 78); }, 6, Port, Outcome.Refused),
        ["a port whose policy is beyond the policies"] = (w => Hold(w, 6, Port, policy: 70_000), 6, Port, Outcome.Refused),
        ["a runtime holder's lease lapsed"] = (w => { RuntimeHolder(w); Lease(w, w.NowNanoseconds - 1); }, 6, Port, Outcome.Allowed),
        ["a runtime holder's process, exited and out of the live set"] = (w => { RuntimeHolder(w, live: false); w.Tgid = HolderTgid; }, 6, Port, Outcome.Refused),
        ["a process of the holder's tree"] = (w => { RuntimeHolder(w, tree: true); w.Ancestors[(int)TreeLevel] = TreeCgroup; }, 6, Port, Outcome.Allowed),
        ["the holder's tree, once its process exited (tgid 0)"] = (w => { RuntimeHolder(w, tree: true, tgid: 0); w.Ancestors[(int)TreeLevel] = TreeCgroup; }, 6, Port, Outcome.Allowed),
        ["another process, outside the holder's tree"] = (w => { RuntimeHolder(w, tree: true); w.Ancestors[(int)TreeLevel] = TreeCgroup + 1; }, 6, Port, Outcome.Refused),
        ["another process, the holder has no tree"] = (w => RuntimeHolder(w), 6, Port, Outcome.Refused),
        ["root, on a persistent reservation"] = (w => { PersistentHolder(w); w.Uid = 0; }, 6, 443, Outcome.Allowed),
        ["an allowed user"] = (w => { PersistentHolder(w); AllowId(w, PersistentPolicy, BindHookLayout.AllowUid, AllowedUid); w.Uid = AllowedUid; }, 6, 443, Outcome.AllowedPrivileged),
        ["an allowed group"] = (w => { PersistentHolder(w); AllowId(w, PersistentPolicy, BindHookLayout.AllowGid, AllowedGid); w.Gid = AllowedGid; }, 6, 443, Outcome.AllowedPrivileged),
        ["an administrator by uid"] = (w => { PersistentHolder(w); AllowId(w, BindHookLayout.AdministratorsPolicy, BindHookLayout.AllowUid, AllowedUid); w.Uid = AllowedUid; }, 6, 443, Outcome.AllowedPrivileged),
        ["an administrator by group"] = (w => { PersistentHolder(w); AllowId(w, BindHookLayout.AdministratorsPolicy, BindHookLayout.AllowGid, AdminGid); w.Gid = AdminGid; }, 6, 443, Outcome.AllowedPrivileged),
        ["a process that associated, alive"] = (w => { PersistentHolder(w); AllowId(w, PersistentPolicy, BindHookLayout.AllowProcess, w.Tgid); MarkLive(w, w.Tgid); }, 6, 443, Outcome.AllowedPrivileged),
        ["a process that associated, exited (its pid is someone else's now)"] = (w => { PersistentHolder(w); AllowId(w, PersistentPolicy, BindHookLayout.AllowProcess, w.Tgid); }, 6, 443, Outcome.Refused),
        ["a stranger, on a persistent reservation"] = (w => PersistentHolder(w), 6, 443, Outcome.Refused),
        ["a refusal after others this second"] = (w => { RuntimeHolder(w); Window(w, start: w.NowNanoseconds - 500_000_000, reports: 3); }, 6, Port, Outcome.Refused),
        ["a refusal once the uid's reports this second are spent"] = (w => { RuntimeHolder(w); Window(w, start: w.NowNanoseconds - 500_000_000, reports: RefusalRing.ReportsPerUidPerSecond); }, 6, Port, Outcome.RefusedUnreported),
        ["a refusal a second after the uid's last window began"] = (w => { RuntimeHolder(w); Window(w, start: w.NowNanoseconds - 1_000_000_001, reports: RefusalRing.ReportsPerUidPerSecond); }, 6, Port, Outcome.Refused),
    };

    public static TheoryData<string> Cases => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void BeforeTheBind_DecidesAsTheDaemonMeansIt(string name)
    {
        (Action<BpfWorld> arrange, int protocol, int port, Outcome expected) = s_cases[name];
        BpfWorld world = World();
        arrange(world);
        var interpreter = new BpfInterpreter(world);

        long verdict = interpreter.Run(Program(afterBind: false).Build(), SockAddr(protocol, port));

        Assert.Equal(expected switch { Outcome.Allowed => 1, Outcome.AllowedPrivileged => BindHookLayout.AllowWithoutBindServiceCapability, _ => 0 }, verdict);
        Assert.Equal(expected is Outcome.Refused or Outcome.RefusedUnreported ? -Eacces : null, interpreter.ReturnValue);
        Assert.Equal(expected == Outcome.Refused ? 1 : 0, world.Maps[Ring].Records.Count);
        if (expected == Outcome.Refused)
        {
            // The report: tgid, uid, port index, policy, then the command's name.
            byte[] record = world.Maps[Ring].Records[0];
            Assert.Equal(RefusalRing.RecordSize, record.Length);
            Assert.Equal((world.Tgid, world.Uid, (uint)BindHookLayout.PortIndex(protocol == 17 ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp, port)), (U32(record, 0), U32(record, 4), U32(record, 8)));
            Assert.Equal("binder", System.Text.Encoding.ASCII.GetString(record, 16, 16).TrimEnd('\0'));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AfterTheBind_DecidesTheSame_ButWaivesNothingAndReportsNothing(string name)
    {
        (Action<BpfWorld> arrange, int protocol, int port, Outcome expected) = s_cases[name];
        BpfWorld world = World();
        arrange(world);
        var interpreter = new BpfInterpreter(world);

        long verdict = interpreter.Run(Program(afterBind: true).Build(), Sock(protocol, port));

        Assert.Equal(expected is Outcome.Allowed or Outcome.AllowedPrivileged ? 1 : 0, verdict);
        Assert.Equal(expected is Outcome.Refused or Outcome.RefusedUnreported ? -Eacces : null, interpreter.ReturnValue);
        Assert.Empty(world.Maps[Ring].Records);
    }

    [Fact]
    public void TheCases_TakeEveryBranchBothWays()
    {
        foreach (bool afterBind in (bool[])[false, true])
        {
            IReadOnlyList<BpfInstruction> code = Program(afterBind).Build();
            var branches = new Dictionary<int, (bool Taken, bool NotTaken)>();
            foreach ((Action<BpfWorld> arrange, int protocol, int port, _) in s_cases.Values)
            {
                BpfWorld world = World();
                arrange(world);
                new BpfInterpreter(world, branches).Run(code, afterBind ? Sock(protocol, port) : SockAddr(protocol, port));
            }

            int[] conditional = [.. Enumerable.Range(0, code.Count).Where(i => code[i].Code is 0x15 or 0x55 or 0x1d or 0x5d or 0x2d or 0x35)];
            int[] oneWay = [.. conditional.Where(i => branches.GetValueOrDefault(i) is not (true, true))];

            // Only the null checks the verifier demands of lookups that cannot fail go one way: the ports array has an
            // element for every port index, and the probe's cookie and the lease are element 0 of the policies array.
            string where = afterBind ? "after" : "before";
            Assert.True(oneWay.Length == 3, $"{where} the bind, branches not taken both ways: {string.Join(", ", oneWay.Select(i => $"{i} ({Describe(branches.GetValueOrDefault(i))})"))}");
            Assert.All(oneWay, i => Assert.True(code[i] is { Code: 0x15, Destination: BpfRegister.R0, Immediate: 0 } && branches[i] == (false, true), $"{where} the bind, instruction {i} is not a null check that is never taken"));
        }
    }

    [Theory]
    [InlineData(HolderTgid, true)]
    [InlineData(HolderTgid + 1, false)]
    public void TheExitProgram_TakesALeadersTgidOutOfTheLiveSet_AndLeavesItForAnotherThread(uint exitingPid, bool leaves)
    {
        BpfWorld world = World();
        MarkLive(world, HolderTgid);
        (world.Pid, world.Tgid) = (exitingPid, HolderTgid);
        var branches = new Dictionary<int, (bool Taken, bool NotTaken)>();

        long result = new BpfInterpreter(world, branches).Run(ProcessExitProgram.Build(Live), new byte[16]);

        Assert.Equal(0, result);
        Assert.Equal(!leaves, world.Maps[Live].Lookup(BitConverter.GetBytes(HolderTgid)) is not null);
    }

    private static string Describe((bool Taken, bool NotTaken) seen) => seen switch
    {
        (false, false) => "never reached",
        (true, false) => "always taken",
        _ => "never taken",
    };

    private static BpfAssembler Program(bool afterBind) => BindHookProgram.Assemble(Ports, Policies, Allow, Live, (Ring, Limits), Netns, afterBind);

    private static BpfWorld World()
    {
        var world = new BpfWorld { NetnsCookie = Netns };
        world.Maps[Ports] = BpfMap.Array(BindHookLayout.PortValueSize, BindHookLayout.PortEntries);
        world.Maps[Policies] = BpfMap.Array(BindHookLayout.PolicyValueSize, BindHookLayout.PolicyEntries);
        world.Maps[Allow] = BpfMap.Hash(BindHookLayout.AllowKeySize, 1);
        world.Maps[Live] = BpfMap.Hash(4, 1);
        world.Maps[Limits] = BpfMap.Hash(4, 16);
        world.Maps[Ring] = BpfMap.RingBuffer();
        Lease(world, world.NowNanoseconds + 60_000_000_000);
        return world;
    }

    private static void Hold(BpfWorld world, int protocol, int port, uint policy)
        => world.Maps[Ports].Set((uint)BindHookLayout.PortIndex(protocol == 17 ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp, port), BitConverter.GetBytes(policy));

    private static void RuntimeHolder(BpfWorld world, int protocol = 6, bool live = true, bool tree = false, uint tgid = HolderTgid)
    {
        Hold(world, protocol, Port, RuntimePolicy);
        byte[] policy = new byte[BindHookLayout.PolicyValueSize];
        BinaryPrimitives.WriteUInt32LittleEndian(policy.AsSpan(BindHookLayout.PolicyKindOffset), BindHookLayout.RuntimeHolder);
        BinaryPrimitives.WriteUInt32LittleEndian(policy.AsSpan(BindHookLayout.PolicyTgidOffset), tgid);
        BinaryPrimitives.WriteUInt64LittleEndian(policy.AsSpan(BindHookLayout.PolicyCgroupOffset), tree ? TreeCgroup : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(policy.AsSpan(BindHookLayout.PolicyLevelOffset), TreeLevel);
        world.Maps[Policies].Set(RuntimePolicy, policy);
        if (live && tgid != 0)
        {
            MarkLive(world, tgid);
        }
    }

    private static void PersistentHolder(BpfWorld world)
    {
        Hold(world, 6, 443, PersistentPolicy);
        byte[] policy = new byte[BindHookLayout.PolicyValueSize];
        BinaryPrimitives.WriteUInt32LittleEndian(policy.AsSpan(BindHookLayout.PolicyKindOffset), BindHookLayout.Persistent);
        world.Maps[Policies].Set(PersistentPolicy, policy);
    }

    private static void AllowId(BpfWorld world, uint policy, uint kind, uint id) => world.Maps[Allow].Set(BindHookLayout.AllowKey(policy, kind, id), [1]);

    private static void MarkLive(BpfWorld world, uint tgid) => world.Maps[Live].Set(tgid, [1]);

    private static void Probe(BpfWorld world, ulong cookie) => Element0(world, BindHookLayout.ProbeCookieOffset, cookie);

    private static void Lease(BpfWorld world, long until) => Element0(world, BindHookLayout.LeaseOffset, (ulong)until);

    private static void Element0(BpfWorld world, int offset, ulong value)
    {
        byte[] element = world.Maps[Policies].Lookup(BitConverter.GetBytes(BindHookLayout.ProbePolicy))!;
        BinaryPrimitives.WriteUInt64LittleEndian(element.AsSpan(offset), value);
    }

    /// <summary>The uid's report window: when it began, and how many reports it has had.</summary>
    private static void Window(BpfWorld world, long start, int reports)
    {
        byte[] window = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(window, start);
        BinaryPrimitives.WriteInt64LittleEndian(window.AsSpan(8), reports);
        world.Maps[Limits].Set(world.Uid, window);
    }

    /// <summary>struct bpf_sock_addr as INET4_BIND sees it: user_port in network order, and the protocol.</summary>
    private static byte[] SockAddr(int protocol, int port)
    {
        byte[] context = new byte[80];
        BinaryPrimitives.WriteUInt16BigEndian(context.AsSpan(BindHookLayout.ContextUserPort), (ushort)port);
        BinaryPrimitives.WriteInt32LittleEndian(context.AsSpan(BindHookLayout.ContextProtocol), protocol);
        return context;
    }

    /// <summary>struct bpf_sock as INET4_POST_BIND sees it: the port it holds, in host order, and its protocol.</summary>
    private static byte[] Sock(int protocol, int port)
    {
        byte[] context = new byte[80];
        BinaryPrimitives.WriteInt32LittleEndian(context.AsSpan(BindHookLayout.SocketSourcePort), port);
        BinaryPrimitives.WriteInt32LittleEndian(context.AsSpan(BindHookLayout.SocketProtocol), protocol);
        return context;
    }

    private static uint U32(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
}
