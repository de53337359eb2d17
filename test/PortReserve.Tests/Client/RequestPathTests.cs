using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Tests.Client;

/// <summary>The client's request path against a fake daemon that answers exactly when, and what, each test says.</summary>
public sealed class RequestPathTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly PortBlock s_granted = new(PortReservationProtocol.Tcp, 40000, 1);

    [Fact]
    public async Task AcquireAsync_CancelledBeforeTheGrantArrives_ThrowsCancellationAndGivesTheLateGrantBack()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();
        using var cancellation = new CancellationTokenSource();

        ValueTask<PortReservation> acquire = client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, cancellation.Token);
        (FrameHeader request, _) = await daemon.ReceiveAsync();
        await cancellation.CancelAsync();
        Exception? thrown = await Record.ExceptionAsync(() => acquire.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        await daemon.GrantAsync(request, s_granted, token: 77);
        (FrameHeader release, byte[] payload) = await daemon.ReceiveAsync();

        Assert.IsAssignableFrom<OperationCanceledException>(thrown);
        Assert.Equal(MessageType.Release, release.Operation);
        Assert.Equal(77UL, ReadToken(payload));
    }

    [Fact]
    public async Task AcquireAsync_AlreadyCancelled_ThrowsCancellationAndSendsNothing()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, cancelled.Token).AsTask());
        // The status request is the daemon's first frame only if the failed call sent nothing.
        _ = client.GetStatusAsync(TestContext.Current.CancellationToken).AsTask();
        (FrameHeader first, _) = await daemon.ReceiveAsync();

        Assert.Equal(MessageType.Status, first.Operation);
    }

    [Fact]
    public async Task AcquireAsync_GrantArrives_ReturnsTheReservation()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();

        ValueTask<PortReservation> acquire = client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken);
        (FrameHeader request, byte[] payload) = await daemon.ReceiveAsync();
        await daemon.GrantAsync(request, s_granted, token: 5);
        PortReservation reservation = await acquire.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Equal(new PortBlock(PortReservationProtocol.Tcp, 0, 1), ReadBlock(payload));
        Assert.Equal((40000, 1, 5UL), (reservation.StartPort, reservation.Count, reservation.Token));
    }

    [Fact]
    public async Task AcquireAsync_DaemonRefuses_ThrowsTheKindWithItsWindowsCodeAndMessage()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();

        ValueTask<PortReservation> acquire = client.AcquireAsync(PortReservationProtocol.Udp, 5000, 2, TestContext.Current.CancellationToken);
        (FrameHeader request, _) = await daemon.ReceiveAsync();
        await daemon.FailAsync(request, PortReservationErrorKind.AddressAlreadyInUse, "UDP 5000-5001 overlaps something");
        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(() => acquire.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken));

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, error.Kind);
        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
        Assert.Equal("UDP 5000-5001 overlaps something", error.Message);
    }

    [Theory]
    [InlineData((PortReservationProtocol)3, 80, 1)]
    [InlineData(PortReservationProtocol.Tcp, 65535, 2)]
    [InlineData(PortReservationProtocol.Udp, 1, 0)]
    public async Task AcquireAsync_BadProtocolOrRange_IsInvalidArgumentWithoutAskingTheDaemon(PortReservationProtocol protocol, int start, int count)
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();

        PortReservationException error = await Assert.ThrowsAsync<PortReservationException>(() => client.AcquireAsync(protocol, start, count, TestContext.Current.CancellationToken).AsTask());
        // The status request is the daemon's first frame only if the failed call sent nothing.
        _ = client.GetStatusAsync(TestContext.Current.CancellationToken).AsTask();
        (FrameHeader first, _) = await daemon.ReceiveAsync();

        Assert.Equal(PortReservationErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(MessageType.Status, first.Operation);
    }

    [Fact]
    public async Task DaemonGoesAway_PendingCallsAbort_ConnectionLostFires_AndReservationsAreLost()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();
        PortReservation held = await AcquireGrantedAsync(client, daemon);

        ValueTask<IReadOnlyList<PortReservationInfo>> pending = client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken);
        await daemon.ReceiveAsync();
        daemon.Drop();
        PortReservationException aborted = await Assert.ThrowsAsync<PortReservationException>(() => pending.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        await WhenCancelled(client.ConnectionLost).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Equal(PortReservationErrorKind.Aborted, aborted.Kind);
        Assert.Equal(SocketError.OperationAborted, aborted.SocketErrorCode);
        Assert.True(held.IsLost);
        Assert.Equal(PortReservationErrorKind.Aborted, Assert.Throws<PortReservationException>(() => held.Associate(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))).Kind);
    }

    [Fact]
    public async Task DaemonSendsGarbage_CallsAbortCarryingTheProtocolViolationAsTheirCause()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();

        ValueTask<PortReserveStatus> status = client.GetStatusAsync(TestContext.Current.CancellationToken);
        await daemon.ReceiveAsync();
        await daemon.SendAsync([9, 9, 9, 9, 9, 9, 9, 9]);
        PortReservationException aborted = await Assert.ThrowsAsync<PortReservationException>(() => status.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken));

        Assert.Equal(PortReservationErrorKind.Aborted, aborted.Kind);
        ProtocolException cause = Assert.IsType<ProtocolException>(aborted.Cause);
        Assert.Contains("version 9", cause.Message);
        Assert.Same(cause, aborted.GetBaseException());
        Assert.Contains("---> PortReserve.Protocol.ProtocolException: protocol version 9", aborted.ToString());
    }

    [Fact]
    public async Task DaemonRefusesTheConnection_CallsFailWithItsReason()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();
        await daemon.FailAsync(new FrameHeader(MessageType.Status, FrameFlags.None, 0, RequestId: 0), PortReservationErrorKind.NoBufferSpaceAvailable, "uid 1000 already has 512 connections open");
        daemon.Drop();
        await WhenCancelled(client.ConnectionLost).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        PortReservationException refused = await Assert.ThrowsAsync<PortReservationException>(() => client.GetStatusAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken));

        Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, refused.Kind);
        Assert.Contains("512 connections", refused.Message);
    }

    [Fact]
    public async Task DisposeAsync_DoesNotReportTheConnectionLost_ButReleasesEveryReservation()
    {
        await using var daemon = new FakeDaemon();
        PortReservationClient client = await daemon.ConnectClientAsync();
        PortReservation held = await AcquireGrantedAsync(client, daemon);

        await client.DisposeAsync().AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.False(client.ConnectionLost.IsCancellationRequested);
        Assert.False(held.IsLost);
        Assert.True(held.IsReleased);
        await held.DisposeAsync().AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetStatusAsync(TestContext.Current.CancellationToken).AsTask());
    }

    private static async Task<PortReservation> AcquireGrantedAsync(PortReservationClient client, FakeDaemon daemon)
    {
        ValueTask<PortReservation> acquire = client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken);
        (FrameHeader request, _) = await daemon.ReceiveAsync();
        await daemon.GrantAsync(request, s_granted, token: 9);
        return await acquire.AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
    }

    private static Task WhenCancelled(CancellationToken token)
    {
        var cancelled = new TaskCompletionSource();
        token.Register(cancelled.SetResult);
        return cancelled.Task;
    }

    private static ulong ReadToken(byte[] payload)
    {
        var reader = new FrameReader(payload);
        return TokenRequest.Read(ref reader).Token;
    }

    private static PortBlock ReadBlock(byte[] payload)
    {
        var reader = new FrameReader(payload);
        return PortBlock.Read(ref reader);
    }
}
