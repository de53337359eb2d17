using System.Net.Sockets;
using PortReserve.Client;

namespace PortReserve.Tests.Client;

/// <summary>
/// Sending when the daemon's queue for the connection is full (<c>FrameSocket</c>): the send waits for room and goes
/// out whole once the daemon reads; a caller's limit, its cancellation and the connection's end each end the wait.
/// </summary>
public sealed class FrameSocketTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] s_frame = new byte[512];

    private readonly string _directory = Directory.CreateTempSubdirectory("portreserve-frames-").FullName;
    private readonly Socket _daemon;
    private readonly FrameSocket _client;

    public FrameSocketTests()
    {
        string path = Path.Combine(_directory, "s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        _daemon = listener.Accept();
        _client = new FrameSocket(client);
    }

    /// <param name="limitDays">How long the caller waits at most: 0 for ever; 100 days, longer than one timer can run.</param>
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task AFullQueue_HoldsTheSend_UntilTheDaemonReads_ThenItGoesOutWhole(int limitDays)
    {
        int queued = Fill();
        byte[] last = [.. Enumerable.Repeat((byte)7, 300)];
        TimeSpan? limit = limitDays == 0 ? null : TimeSpan.FromDays(limitDays);

        Task send = _client.SendAsync(last, limit, () => new TimeoutException(), TestContext.Current.CancellationToken).AsTask();
        await Task.WhenAny(send, Task.Delay(200, TestContext.Current.CancellationToken));
        bool heldWhileFull = !send.IsCompleted;
        var buffer = new byte[4096];
        for (int i = 0; i < queued; i++)
        {
            Assert.Equal(s_frame.Length, _daemon.Receive(buffer));
        }

        await send.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        int received = _daemon.Receive(buffer);

        Assert.True(heldWhileFull, "the send waited while the daemon's queue was full");
        Assert.Equal(last, buffer[..received]);
    }

    [Fact]
    public async Task AQueueThatStaysFull_EndsTheSend_WithTheCallersErrorAtItsLimit()
    {
        Fill();

        Task send = _client.SendAsync(s_frame, TimeSpan.FromMilliseconds(300), () => new TimeoutException("not answering"), TestContext.Current.CancellationToken).AsTask();

        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(() => send.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        Assert.Equal("not answering", error.Message);
    }

    [Fact]
    public async Task CancellingAWaitingSend_EndsIt_AndTheNextSendStillGoesOutOnceThereIsRoom()
    {
        int queued = Fill();
        using var cancel = new CancellationTokenSource();

        Task cancelled = _client.SendAsync(s_frame, null, () => new TimeoutException(), cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        Task next = _client.SendAsync(s_frame, null, () => new TimeoutException(), TestContext.Current.CancellationToken).AsTask();
        var buffer = new byte[4096];
        for (int i = 0; i <= queued; i++)
        {
            if (i == queued)
            {
                await next.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
            }

            Assert.Equal(s_frame.Length, _daemon.Receive(buffer));
        }
    }

    [Fact]
    public async Task TheConnectionEndingWhileASendWaits_EndsTheSend_WithASocketError()
    {
        Fill();

        Task send = _client.SendAsync(s_frame, null, () => new TimeoutException(), TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        _daemon.Dispose();

        await Assert.ThrowsAsync<SocketException>(() => send.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
    }

    public void Dispose()
    {
        _client.Dispose();
        _daemon.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Sends frames until the daemon's queue for the connection takes no more; how many it took.</summary>
    private int Fill()
    {
        int queued = 0;
        while (SocketSend.TrySend(_client.Socket, s_frame))
        {
            queued++;
        }

        Assert.True(queued > 0);
        return queued;
    }
}
