using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>
/// The sink that mirrors the table's changes into the bind hook, fed changes directly and judged by real binds. Root,
/// in a private network namespace only (./test.sh), since the hook it attaches sees the whole machine's binds.
/// </summary>
public sealed class ExclusiveBindsSinkTests : IDisposable
{
    private const int Port = 46_000;
    private readonly ExclusiveBindsSink _sink;
    private readonly KernelSnapshot _snapshot = new();

    public ExclusiveBindsSinkTests()
    {
        string? cannotAttach = BpfAbility.CannotAttach(out _);
        Assert.SkipWhen(cannotAttach is not null, cannotAttach ?? string.Empty);
        _sink = ExclusiveBindsSink.Open(ExclusiveBindsMode.On, adminGroupId: null, pinDirectory: null, TimeSpan.FromMinutes(5), NullLogger.Instance);
        _sink.Attach(NullLogger.Instance);
    }

    public void Dispose() => _sink?.Dispose();

    [Fact]
    public void RuntimeReservationOfAnotherProcess_RefusesThisOnesBind_UntilRemoved()
    {
        Reservation held = Runtime(holderId: 1, pid: 1);

        Apply(ReservationChange.Added(held));
        SocketError whileHeld = Bind(Port);
        Apply(ReservationChange.Removed(held), ReservationChange.HolderGone(Holders.Holder(1)));

        Assert.Equal(SocketError.AccessDenied, whileHeld);
        Assert.Equal(SocketError.Success, Bind(Port));
    }

    [Fact]
    public void ProcessTreeOfTheHolder_LetsProcessesInItsCgroupBind()
    {
        CgroupHierarchy cgroups = _sink.Cgroups!;
        string ours = cgroups.CgroupOf(Environment.ProcessId);

        Apply(ReservationChange.Added(Runtime(holderId: 2, pid: 1)));
        SocketError beforeTree = Bind(Port);
        Apply(ReservationChange.TreeAssigned(holderId: Holders.Holder(2), pid: 1, new ProcessTree(CgroupHierarchy.IdOf(ours), cgroups.LevelOf(ours))));

        Assert.Equal(SocketError.AccessDenied, beforeTree);
        Assert.Equal(SocketError.Success, Bind(Port));
    }

    [Fact]
    public void HolderProcessExited_TakesItsPidsBindRightAway_ButNotItsProcessTree()
    {
        Apply(ReservationChange.Added(Runtime(holderId: 3, pid: Environment.ProcessId)));
        SocketError whileItLives = Bind(Port);
        Apply(ReservationChange.ProcessExited(holderId: Holders.Holder(3)));
        SocketError afterItExited = Bind(Port);
        CgroupHierarchy cgroups = _sink.Cgroups!;
        string ours = cgroups.CgroupOf(Environment.ProcessId);
        Apply(ReservationChange.TreeAssigned(holderId: Holders.Holder(3), pid: Environment.ProcessId, new ProcessTree(CgroupHierarchy.IdOf(ours), cgroups.LevelOf(ours))));

        Assert.Equal((SocketError.Success, SocketError.AccessDenied), (whileItLives, afterItExited));
        Assert.Equal(SocketError.Success, Bind(Port));
    }

    [Fact]
    public void PortServerGrant_IsNotExclusive()
    {
        Apply(ReservationChange.Added(Runtime(holderId: -1, pid: 1, exclusive: false)));

        Assert.Equal(SocketError.Success, Bind(Port));
    }

    [Fact]
    public void HolderGone_ItsPolicyIsFreed_AndANewHolderOfTheSamePortsIsEnforcedForItself()
    {
        Reservation first = Runtime(holderId: 3, pid: 1);
        Apply(ReservationChange.Added(first), ReservationChange.Removed(first), ReservationChange.HolderGone(Holders.Holder(3)));

        Apply(ReservationChange.Added(Runtime(holderId: 4, pid: Environment.ProcessId)));

        Assert.Equal(SocketError.Success, Bind(Port));
    }

    private static Reservation Runtime(long holderId, int pid, bool exclusive = true)
        => new(new PortBlock(PortReservationProtocol.Tcp, Port, 1), token: 1, PortReservationKind.Runtime, Holders.Owner(holderId, pid, 0, exclusive: exclusive));

    private void Apply(params ReservationChange[] changes)
    {
        _snapshot.Changes.Clear();
        _snapshot.Changes.AddRange(changes);
        _sink.Apply(_snapshot);
    }

    private static SocketError Bind(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
