using System.Net;
using System.Net.Sockets;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>The sock_diag dump of bound ports, against sockets this test binds for real.</summary>
public sealed class BoundPortsTests
{
    [Fact]
    public void Tcp_ListsBoundOnlyListeningAndConnectedSockets_OfBothFamilies_ButNotClosedOnes()
    {
        Assert.SkipUnless(BoundPorts.Complete, "the kernel dumps bound-only TCP sockets from Linux 6.5");
        using Socket boundOnly = Bound(AddressFamily.InterNetwork, SocketType.Stream);
        using Socket listening = Bound(AddressFamily.InterNetworkV6, SocketType.Stream);
        listening.Listen();
        using Socket client = new(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.IPv6Loopback, Port(listening)));
        int closed;
        using (Socket gone = Bound(AddressFamily.InterNetwork, SocketType.Stream))
        {
            closed = Port(gone);
        }

        PortSet tcp = BoundPorts.In(PortReservationProtocol.Tcp, Everything);

        Assert.True(tcp.Contains(Port(boundOnly)), "a bound-only IPv4 socket");
        Assert.True(tcp.Contains(Port(listening)), "a listening IPv6 socket");
        Assert.True(tcp.Contains(Port(client)), "a connected client's local port");
        Assert.False(tcp.Contains(closed), "a closed socket");
        Assert.False(BoundPorts.In(PortReservationProtocol.Udp, Everything).Contains(Port(boundOnly)), "TCP ports among UDP ones");
    }

    [Fact]
    public void Udp_ListsBoundSocketsOfBothFamilies()
    {
        using Socket v4 = Bound(AddressFamily.InterNetwork, SocketType.Dgram);
        using Socket v6 = Bound(AddressFamily.InterNetworkV6, SocketType.Dgram);

        PortSet udp = BoundPorts.In(PortReservationProtocol.Udp, Everything);

        Assert.True(udp.Contains(Port(v4)) && udp.Contains(Port(v6)));
    }

    [Fact]
    public void Dump_HoldsOnlyTheRangeAsked()
    {
        using Socket held = Bound(AddressFamily.InterNetwork, SocketType.Dgram);
        int port = Port(held);

        Assert.True(BoundPorts.In(PortReservationProtocol.Udp, new PortRange(port, 1)).Contains(port));
        Assert.True(BoundPorts.In(PortReservationProtocol.Udp, new PortRange(port + 1, 10)).IsEmpty);
        Assert.True(BoundPorts.In(PortReservationProtocol.Udp, new PortRange(port - 10, 10)).IsEmpty);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SocketPortUsage_SeesABoundOnlyDotNetTcpSocket_WhichAReuseAddressProbeBindsBeside(bool exact)
    {
        Assert.SkipUnless(BoundPorts.Complete, "the kernel dumps bound-only TCP sockets from Linux 6.5");
        using Socket held = Bound(AddressFamily.InterNetwork, SocketType.Stream);
        int port = Port(held);

        int found = new SocketPortUsage().FirstInUse(PortReservationProtocol.Tcp, new PortRange(port - 2, 5), exact);

        Assert.Equal(port, found);
    }

    [Fact]
    public async Task SocketPortUsage_APortHeldOnlyByTimeWait_IsFreeForAnExactAnswer_AndAvoidedByAWildcardOne()
    {
        Assert.SkipUnless(BoundPorts.Complete, "the kernel dumps bound-only TCP sockets from Linux 6.5");
        int port;
        using (Socket listener = Bound(AddressFamily.InterNetwork, SocketType.Stream))
        {
            port = Port(listener);
            listener.Listen();
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            using (Socket accepted = listener.Accept())
            {
                // The side that closes first keeps the connection in TIME_WAIT: here, the server's side, on its port.
                accepted.Shutdown(SocketShutdown.Both);
            }

            await client.ReceiveAsync(new byte[1], SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        var usage = new SocketPortUsage();
        Assert.Equal(-1, usage.FirstInUse(PortReservationProtocol.Tcp, new PortRange(port, 1), exact: true));
        Assert.Equal(port, usage.FirstInUse(PortReservationProtocol.Tcp, new PortRange(port, 1), exact: false));
    }

    [Fact]
    public void SocketPortUsage_ProbesUdpExactly()
    {
        using Socket held = Bound(AddressFamily.InterNetworkV6, SocketType.Dgram);
        int port = Port(held);

        Assert.Equal(port, new SocketPortUsage().FirstInUse(PortReservationProtocol.Udp, new PortRange(port - 2, 5), exact: true));
    }

    private static PortRange Everything => new(1, 65535);

    private static Socket Bound(AddressFamily family, SocketType type)
    {
        var socket = new Socket(family, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        return socket;
    }

    private static int Port(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;
}
