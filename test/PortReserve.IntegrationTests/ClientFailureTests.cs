using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>What a client sees when the daemon is absent or dies.</summary>
public sealed class ClientFailureTests
{
    [Fact(Timeout = 30_000)]
    public async Task ConnectAsync_NoDaemon_IsServiceUnavailableSayingWhereItLookedAndWhatToDo()
    {
        string path = Path.Combine(Path.GetTempPath(), $"prt-none-{Environment.ProcessId}.sock");

        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(
            () => PortReservationClient.ConnectAsync(new PortReservationClientOptions { SocketPath = path }, TestContext.Current.CancellationToken).WithTimeout());

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, error.Kind);
        Assert.Equal(SocketError.NetworkDown, error.SocketErrorCode);
        Assert.Contains(path, error.Message);
        Assert.Contains("no such socket", error.Message);
        Assert.Contains("Start it", error.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task DaemonKilled_ReservationIsReportedLostAndCallsAbort()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await PortReservationClient.ConnectAsync(new PortReservationClientOptions { SocketPath = daemon.SocketPath, ReconnectTimeout = TimeSpan.FromSeconds(1) }, TestContext.Current.CancellationToken).WithTimeout();
        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();

        // No daemon comes back within the client's reconnect timeout.
        daemon.Kill9();
        await reservation.Lost.WhenCancelled().WithTimeout();

        Assert.True(reservation.IsLost);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Equal(PortReservationErrorKind.Aborted, Assert.Throws<PortReservationException>(() => reservation.Associate(socket)).Kind);
        PortReservationException acquire = await Assert.ThrowsAsync<PortReservationException>(
            () => client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout());
        Assert.Equal(PortReservationErrorKind.Aborted, acquire.Kind);
        Assert.Equal(SocketError.OperationAborted, acquire.SocketErrorCode);
        await reservation.DisposeAsync().WithTimeout();
    }
}
