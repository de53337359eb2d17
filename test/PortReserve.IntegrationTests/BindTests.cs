using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Associate and bind from a block: only block ports, every address family, and the SPEC's error kinds.</summary>
public sealed class BindTests
{
    [Fact(Timeout = 60_000)]
    public async Task BindReserved_PortZero_TakesOnlyBlockPortsThenReportsTheBlockFull()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 5, TestContext.Current.CancellationToken).WithTimeout();
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                reservation.Associate(socket);
                socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
                socket.Listen();
            }

            using var sixth = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            reservation.Associate(sixth);
            PortReservationException full = Assert.Throws<PortReservationException>(() => sixth.BindReserved(new IPEndPoint(IPAddress.Loopback, 0)));

            int[] ports = [.. sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port).Order()];
            Assert.Equal(Enumerable.Range(reservation.StartPort, 5), ports);
            Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, full.Kind);
            Assert.Contains("every port of the reserved TCP block", full.Message);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork, false)]
    [InlineData(AddressFamily.InterNetworkV6, false)]
    [InlineData(AddressFamily.InterNetworkV6, true)]
    public async Task BindReserved_Udp_WorksForIPv4IPv6AndDualStack(AddressFamily family, bool dualMode)
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Udp, 15000, 20, TestContext.Current.CancellationToken).WithTimeout();
        using var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        if (dualMode)
        {
            socket.DualMode = true;
        }

        reservation.Associate(socket);
        socket.BindReserved(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));

        Assert.InRange(((IPEndPoint)socket.LocalEndPoint!).Port, 15000, 15019);
    }

    [Fact(Timeout = 60_000)]
    public async Task BindReserved_ExplicitPorts_InsideIsBoundOutsideIsInvalidArgument()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 16000, 10, TestContext.Current.CancellationToken).WithTimeout();
        using var inside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var outside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reservation.Associate(inside);
        reservation.Associate(outside);

        inside.BindReserved(new IPEndPoint(IPAddress.Loopback, 16007));
        PortReservationException error = Assert.Throws<PortReservationException>(() => outside.BindReserved(new IPEndPoint(IPAddress.Loopback, 16010)));

        Assert.Equal(16007, ((IPEndPoint)inside.LocalEndPoint!).Port);
        Assert.Equal(PortReservationErrorKind.InvalidArgument, error.Kind);
        Assert.False(outside.IsBound);
    }

    [Fact(Timeout = 60_000)]
    public async Task Associate_MisuseGetsTheSpecsKinds()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation tcp = await client.AcquireAsync(PortReservationProtocol.Tcp, 17000, 2, TestContext.Current.CancellationToken).WithTimeout();
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);

        Assert.Equal(PortReservationErrorKind.InvalidArgument, Assert.Throws<PortReservationException>(() => tcp.Associate(bound)).Kind);
        Assert.Equal(PortReservationErrorKind.InvalidArgument, Assert.Throws<PortReservationException>(() => tcp.Associate(udp)).Kind);
        Assert.Equal(PortReservationErrorKind.OperationNotSupported, Assert.Throws<PortReservationException>(() => tcp.Associate(unix)).Kind);
        Assert.Equal(PortReservationErrorKind.OperationNotSupported, Assert.Throws<PortReservationException>(() => tcp.Associate(raw)).Kind);
        Assert.Throws<ArgumentNullException>(() => tcp.Associate(null!));
        Assert.Throws<InvalidOperationException>(() => udp.BindReserved(new IPEndPoint(IPAddress.Any, 0)));
    }

    [Fact(Timeout = 60_000)]
    public async Task BindReserved_AfterRelease_IsInvalidArgument()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Udp, 18000, 2, TestContext.Current.CancellationToken).WithTimeout();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        reservation.Associate(socket);

        await reservation.DisposeAsync().WithTimeout();

        Assert.True(reservation.IsReleased);
        Assert.Equal(PortReservationErrorKind.InvalidArgument, Assert.Throws<PortReservationException>(() => socket.BindReserved(new IPEndPoint(IPAddress.Any, 0))).Kind);
    }
}
