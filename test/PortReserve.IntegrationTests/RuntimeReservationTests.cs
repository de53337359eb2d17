using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Runtime reservations across real processes: lifetime, conflicts, wildcard range and access.</summary>
public sealed class RuntimeReservationTests
{
    [Fact(Timeout = 60_000)]
    public async Task OwnerKilledWithSigKill_PortsComeBackAtOnce()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using ChildProcess peer = StartPeerHolding(daemon, "udp", 7000, 50);
        await peer.WaitForLineAsync(IsGrantLine);
        Assert.True(KernelList.ContainsAll(7000, 7049));

        peer.Kill9();
        await peer.WaitForExitAsync();

        await Timeouts.Eventually(() => !KernelList.ContainsAny(7000, 7049), "the killed owner's ports leave the kernel list", TimeSpan.FromSeconds(2));
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation reacquired = await client.AcquireAsync(PortReservationProtocol.Udp, 7000, 50, TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal(7000, reacquired.StartPort);
    }

    [Fact(Timeout = 60_000)]
    public async Task AcquireAsync_OverlappingAnotherProcesssBlock_FailsNamingTheHolder()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using ChildProcess peer = StartPeerHolding(daemon, "tcp", 8000, 10);
        await peer.WaitForLineAsync(IsGrantLine);
        await using PortReservationClient client = await daemon.ConnectAsync();

        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(
            () => client.AcquireAsync(PortReservationProtocol.Tcp, 8009, 2, TestContext.Current.CancellationToken).WithTimeout());

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, error.Kind);
        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
        Assert.Contains($"held by pid {peer.Pid}", error.Message);
        Assert.Contains("8000-8009", error.Message);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(PortReservationProtocol.Tcp, true)]
    [InlineData(PortReservationProtocol.Tcp, false)]
    [InlineData(PortReservationProtocol.Udp, false)]
    public async Task AcquireAsync_BlockWithABoundPort_FailsNamingThePort(PortReservationProtocol protocol, bool listening)
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        using Socket bound = protocol == PortReservationProtocol.Tcp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)bound.LocalEndPoint!).Port;
        if (listening)
        {
            bound.Listen();
        }

        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(
            () => client.AcquireAsync(protocol, port - 2, 5, TestContext.Current.CancellationToken).WithTimeout());

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, error.Kind);
        Assert.Contains($"port {port} is in use", error.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task AcquireAsync_Wildcard_BlocksComeFromTheWildcardRangeAndAvoidBoundPorts()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "41000-41049");
        await using PortReservationClient client = await daemon.ConnectAsync();
        using var bound = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        bound.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 41020));

        var blocks = new List<PortReservation>();
        PortReservationException? exhausted = null;
        while (exhausted is null)
        {
            try
            {
                blocks.Add(await client.AcquireAsync(PortReservationProtocol.Udp, 0, 7, TestContext.Current.CancellationToken).WithTimeout());
            }
            catch (PortReservationException e)
            {
                exhausted = e;
            }
        }

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, exhausted.Kind);
        Assert.Contains("41000-41049", exhausted.Message);
        Assert.All(blocks, b => Assert.InRange(b.StartPort, 41000, 41049 - 6));
        Assert.DoesNotContain(blocks, b => b.StartPort <= 41020 && b.EndPort >= 41020);
        Assert.Equal(6, blocks.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task AcquireAsync_Wildcard_PortsLeftInTimeWaitByAnyone_DoNotRefuseTheBlock()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run the flood as another uid");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "41000-41009");
        await using PortReservationClient client = await daemon.ConnectAsync();

        // A closed connection's port stays in TIME_WAIT a minute: anyone can leave the whole range so, for nothing.
        (int exit, string output) = await Attacker.RunAsync(OtherUser.Nobody, ["time-wait", "41000", "41009"]);
        PortReservation block = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 10, TestContext.Current.CancellationToken).WithTimeout();

        Assert.True(exit == 0 && output.Contains("time-wait done", StringComparison.Ordinal), output);
        Assert.Equal(41000, block.StartPort);
    }

    [Fact(Timeout = 60_000)]
    public async Task AnotherProcess_CannotReleaseOrAssociateYourToken()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation mine = await client.AcquireAsync(PortReservationProtocol.Tcp, 9100, 5, TestContext.Current.CancellationToken).WithTimeout();
        string token = mine.Token.ToString(CultureInfo.InvariantCulture);

        (int releaseExit, string releaseOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["release", token], daemon.ClientEnvironment);
        (int associateExit, string associateOutput) = await ChildProcess.RunAsync(Artifacts.Peer, ["associate", token, "tcp"], daemon.ClientEnvironment);

        Assert.Equal(1, releaseExit);
        Assert.StartsWith("error AccessDenied", releaseOutput, StringComparison.Ordinal);
        Assert.Equal(1, associateExit);
        Assert.StartsWith("error AccessDenied", associateOutput, StringComparison.Ordinal);
        Assert.True(KernelList.ContainsAll(9100, 9104));
        Assert.False(mine.IsReleased);
    }

    [Fact(Timeout = 60_000)]
    public async Task SameProcessOnAnotherConnection_MayReleaseAndAssociate()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient first = await daemon.ConnectAsync();
        await using PortReservationClient second = await daemon.ConnectAsync();
        PortReservation reservation = await first.AcquireAsync(PortReservationProtocol.Udp, 9200, 3, TestContext.Current.CancellationToken).WithTimeout();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        await second.AssociateAsync(socket, reservation.Token, TestContext.Current.CancellationToken).WithTimeout();
        socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
        await second.ReleaseAsync(reservation.Token, TestContext.Current.CancellationToken).WithTimeout();

        Assert.InRange(((IPEndPoint)socket.LocalEndPoint!).Port, 9200, 9202);
        Assert.False(KernelList.ContainsAny(9200, 9202));
    }

    [Fact(Timeout = 60_000)]
    public async Task ReleaseAsync_UnknownToken_IsInvalidArgument()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();

        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(
            () => client.ReleaseAsync(0xBADBADUL, TestContext.Current.CancellationToken).WithTimeout());

        Assert.Equal(PortReservationErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(SocketError.InvalidArgument, error.SocketErrorCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task DisposingTheClient_ReleasesEverythingItHeld()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        PortReservationClient client = await daemon.ConnectAsync();
        for (int i = 0; i < 10; i++)
        {
            await client.AcquireAsync(PortReservationProtocol.Tcp, 10000 + (i * 10), 5, TestContext.Current.CancellationToken).WithTimeout();
        }

        await client.DisposeAsync().WithTimeout();

        await Timeouts.Eventually(() => !KernelList.ContainsAny(10000, 10099), "the disposed client's blocks leave the kernel list", TimeSpan.FromSeconds(2));
    }

    [Fact(Timeout = 60_000)]
    public async Task PipelinedAcquires_FromManyTasks_AllGetDistinctBlocks()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();

        PortReservation[] blocks = await Task.WhenAll(Enumerable.Range(0, 200).Select(
            _ => client.AcquireAsync(PortReservationProtocol.Tcp, 0, 3, TestContext.Current.CancellationToken).AsTask())).WithTimeout();

        var ports = blocks.SelectMany(b => Enumerable.Range(b.StartPort, b.Count)).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.True(KernelList.Ports().IsSupersetOf(ports));
    }

    private static ChildProcess StartPeerHolding(DaemonProcess daemon, string protocol, int start, int count)
        => ChildProcess.Start(Artifacts.Peer, ["hold", protocol, start.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture)], daemon.ClientEnvironment, redirectInput: true);

    private static bool IsGrantLine(string line) => line.Split(' ').Length == 3 && ulong.TryParse(line.Split(' ')[0], CultureInfo.InvariantCulture, out _);
}
