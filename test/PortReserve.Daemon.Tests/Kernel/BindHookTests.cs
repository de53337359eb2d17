using System.Net;
using System.Net.Sockets;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>
/// The bind hook attached for real, with real sockets binding against it. It is attached at the root of the machine's
/// cgroup tree, so these run only as root inside a private network namespace (./test.sh gives both), where the hook's
/// namespace check confines it.
/// </summary>
public sealed class BindHookTests : IDisposable
{
    private const int Held = 45555;
    private readonly BindHookMaps? _maps;
    private readonly CgroupHierarchy? _cgroups;

    public BindHookTests()
    {
        string? cannotAttach = BpfAbility.CannotAttach(out _cgroups);
        Assert.SkipWhen(cannotAttach is not null, cannotAttach ?? string.Empty);
        _maps = BindHookMaps.Create();
    }

    public void Dispose() => _maps?.Dispose();

    [Theory]
    [InlineData(AddressFamily.InterNetwork, false)]
    [InlineData(AddressFamily.InterNetworkV6, false)]
    [InlineData(AddressFamily.InterNetworkV6, true)]
    public void HeldPort_IsRefusedWithAccessDeniedToAnotherProcess_WhileOtherPortsAndPortZeroBind(AddressFamily family, bool dualStack)
    {
        HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        using BindHook hook = Attach(NetworkNamespace.Cookie());

        SocketError refused = Bind(family, SocketType.Stream, Held, dualStack);

        Assert.Equal(SocketError.AccessDenied, refused);
        Assert.Equal(SocketError.Success, Bind(family, SocketType.Stream, Held + 1, dualStack));
        Assert.Equal(SocketError.Success, Bind(family, SocketType.Stream, 0, dualStack));
        Assert.Equal(SocketError.Success, Bind(family, SocketType.Dgram, Held, dualStack));
    }

    [Fact]
    public void HeldPort_BindsForItsHolderProcess_AndForItsProcessTreesCgroup()
    {
        using BindHook hook = Attach(NetworkNamespace.Cookie());

        string ours = _cgroups!.CgroupOf(Environment.ProcessId);
        var tree = new ProcessTree(CgroupHierarchy.IdOf(ours), _cgroups.LevelOf(ours));
        string root = _cgroups.Root;

        _maps!.SetPolicy(1, BindHookLayout.RuntimeHolder, (uint)Environment.ProcessId);
        _maps.SetPort(PortReservationProtocol.Udp, Held, 1);
        SocketError notLive = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);
        _maps.AddLive((uint)Environment.ProcessId);
        SocketError byHolder = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);
        _maps.SetPolicy(1, BindHookLayout.RuntimeHolder, 1, tree);
        SocketError byTree = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);
        _maps.SetPolicy(1, BindHookLayout.RuntimeHolder, 1, new ProcessTree(CgroupHierarchy.IdOf(root), 0));
        SocketError beneathTheRootTree = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);
        _maps.SetPolicy(1, BindHookLayout.RuntimeHolder, 1, tree with { Level = tree.Level + 1 });
        SocketError atAnotherLevel = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);
        _maps.SetPolicy(1, BindHookLayout.RuntimeHolder, 1);
        SocketError byNeither = Bind(AddressFamily.InterNetwork, SocketType.Dgram, Held);

        Assert.Equal((SocketError.Success, SocketError.Success, SocketError.Success), (byHolder, byTree, beneathTheRootTree));
        Assert.Equal((SocketError.AccessDenied, SocketError.AccessDenied, SocketError.AccessDenied), (notLive, atAnotherLevel, byNeither));
    }

    [Fact]
    public async Task ExitProgram_TakesAnExitedProcessOutOfTheLiveMap_AsItExits()
    {
        using BindHook hook = Attach(NetworkNamespace.Cookie());
        using var sleeper = System.Diagnostics.Process.Start("sleep", "30");
        using var other = System.Diagnostics.Process.Start("sleep", "30");
        _maps!.AddLive((uint)sleeper.Id);
        _maps.AddLive((uint)other.Id);
        bool liveBefore = _maps.IsLive((uint)sleeper.Id);

        sleeper.Kill();
        await sleeper.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.True(liveBefore);
        Assert.False(_maps.IsLive((uint)sleeper.Id));
        Assert.True(_maps.IsLive((uint)other.Id));
        other.Kill();
    }

    [Fact]
    public void HeldPort_BindsForTheDaemonsProbeSocket_AndNoOtherSocketOfItsProcess()
    {
        HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        using BindHook hook = Attach(NetworkNamespace.Cookie());
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Span<byte> cookie = stackalloc byte[8];
        probe.GetRawSocketOption(1, 57, cookie);

        _maps!.SetProbe(BitConverter.ToUInt64(cookie));
        SocketError other = Bind(AddressFamily.InterNetwork, SocketType.Stream, Held);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, Held));
        _maps.SetProbe(0);

        Assert.Equal(SocketError.AccessDenied, other);
        Assert.Equal(Held, ((IPEndPoint)probe.LocalEndPoint!).Port);
    }

    [Fact]
    public void PersistentPort_BindsForRoot()
    {
        using BindHook hook = Attach(NetworkNamespace.Cookie());
        _maps!.SetPolicy(2, BindHookLayout.Persistent, 0);
        _maps.SetPort(PortReservationProtocol.Tcp, Held, 2);

        Assert.Equal(SocketError.Success, Bind(AddressFamily.InterNetwork, SocketType.Stream, Held));
    }

    [Fact]
    public void HookOfAnotherNamespace_LeavesThisOnesBindsAlone()
    {
        HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        using BindHook hook = Attach(NetworkNamespace.Cookie() + 1);

        Assert.Equal(SocketError.Success, Bind(AddressFamily.InterNetwork, SocketType.Stream, Held));
    }

    [Fact]
    public void ClearedPort_BindsAgain_AndADisposedHookRefusesNothing()
    {
        HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        SocketError refused;
        using (BindHook hook = Attach(NetworkNamespace.Cookie()))
        {
            refused = Bind(AddressFamily.InterNetwork, SocketType.Stream, Held);
            _maps!.SetPort(PortReservationProtocol.Tcp, Held, 0);
            Assert.Equal(SocketError.Success, Bind(AddressFamily.InterNetwork, SocketType.Stream, Held));
            HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        }

        Assert.Equal(SocketError.AccessDenied, refused);
        Assert.Equal(SocketError.Success, Bind(AddressFamily.InterNetwork, SocketType.Stream, Held));
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork, Interop.Bpf.AttachCgroupInet4PostBind)]
    [InlineData(AddressFamily.InterNetworkV6, Interop.Bpf.AttachCgroupInet6PostBind)]
    public void AfterBindProgramAlone_RefusesAHeldPortOnceTaken_AndTheKernelGivesThePortBack(AddressFamily family, int attachType)
    {
        // The second program stands alone here: it is what refuses a bind that passed the first before the port was held.
        HoldForAnotherProcess(PortReservationProtocol.Tcp, Held);
        byte[] code = BpfInstruction.Encode(BindHookProgram.Build(Fd(_maps!.Ports), Fd(_maps.Policies), Fd(_maps.Allow), Fd(_maps.Live), (Fd(_maps.Refusals.Map), Fd(_maps.Refusals.Limits)), NetworkNamespace.Cookie(), afterBind: true));
        using Microsoft.Win32.SafeHandles.SafeFileHandle program = Interop.Bpf.LoadProgram(Interop.Bpf.ProgramTypeCgroupSock, attachType, code, "pr_post_test");
        using Microsoft.Win32.SafeHandles.SafeFileHandle root = _cgroups!.OpenRoot();
        IPAddress loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        using var refusedSocket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        SocketError refused, unreserved, portZero;
        using (Interop.Bpf.CreateLink(program, root, attachType))
        {
            refused = BindKeeping(refusedSocket, new IPEndPoint(loopback, Held));
            unreserved = Bind(family, SocketType.Stream, Held + 1);
            portZero = Bind(family, SocketType.Stream, 0);
        }

        Assert.Equal(SocketError.AccessDenied, refused);
        Assert.Equal(SocketError.Success, unreserved);
        Assert.Equal(SocketError.Success, portZero);

        // The refused socket is still open, but it does not hold the port.
        Assert.Equal(SocketError.Success, Bind(family, SocketType.Stream, Held));
    }

    private static int Fd(Microsoft.Win32.SafeHandles.SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static SocketError BindKeeping(Socket socket, IPEndPoint endPoint)
    {
        try
        {
            socket.Bind(endPoint);
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    /// <summary>Holds the port for pid 1, which is never this test.</summary>
    private void HoldForAnotherProcess(PortReservationProtocol protocol, int port)
    {
        _maps!.SetPolicy(1, BindHookLayout.RuntimeHolder, tgid: 1);
        _maps.SetPort(protocol, port, 1);
    }

    private BindHook Attach(ulong cookie)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle root = _cgroups!.OpenRoot();
        return BindHook.Attach(_maps!, cookie, root);
    }

    private static SocketError Bind(AddressFamily family, SocketType type, int port, bool dualStack = false)
    {
        using var socket = new Socket(family, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        if (family == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = dualStack;
        }

        try
        {
            socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
