using System.Buffers.Binary;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>How the daemon serves clients side by side: a client that stops reading holds up nobody else and loses nothing.</summary>
public sealed class ServingTests
{
    private const int FrameSize = 65536;
    private const byte StatusRequest = 5;
    private const byte ReplyBit = 0x80;

    [Fact(Timeout = 60_000)]
    public async Task AClientThatStopsReading_HoldsUpNobodyElse_AndGetsEveryReplyInOrderOnceItReads()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        using var stalled = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await stalled.ConnectAsync(new UnixDomainSocketEndPoint(daemon.SocketPath), TestContext.Current.CancellationToken).AsTask().WithTimeout();

        // Far more status requests than the two sockets' buffers hold (a few hundred each way): unread replies fill the
        // daemon's side, then requests it stops taking fill the client's, and the sender blocks.
        const int Requests = 20_000;
        Task sending = Task.Run(async () =>
        {
            byte[] request = new byte[8];
            for (uint id = 1; id <= Requests; id++)
            {
                request[0] = 1;
                request[1] = StatusRequest;
                BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(4), id);
                await stalled.SendAsync(request, SocketFlags.None, TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);

        await using (PortReservationClient other = await daemon.ConnectAsync())
        {
            for (int i = 0; i < 100; i++)
            {
                await using PortReservation reservation = await other.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
            }
        }

        Assert.False(sending.IsCompleted, "the stalled client's requests should not all fit the socket buffers");
        byte[] reply = new byte[FrameSize];
        for (uint expected = 1; expected <= Requests; expected++)
        {
            int received = await stalled.ReceiveAsync(reply, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WithTimeout();
            Assert.True(received >= 8, $"reply {expected}: {received} bytes");
            Assert.Equal(StatusRequest | ReplyBit, reply[1]);
            Assert.Equal(0, reply[3]);
            Assert.Equal(expected, BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)));
        }

        await sending.WithTimeout();
    }
}
