using System.Net.Sockets;
using PortReserve.Fuzz;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Random and mutated frames against the real daemon over real sockets, while another client holds reservations.</summary>
public sealed class FuzzTests
{
    [Fact(Timeout = 120_000)]
    public async Task MutatedFrames_NeitherCrashNorHangTheDaemon_NorTouchAnotherClientsReservations()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("7000");
        await using PortReservationClient witness = await daemon.ConnectAsync();
        PortReservation runtime = await witness.AcquireAsync(PortReservationProtocol.Udp, 0, 10, TestContext.Current.CancellationToken).WithTimeout();
        await witness.CreatePersistentAsync(PortReservationProtocol.Tcp, 9000, 3, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

        long sent = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => FuzzAsync(daemon.SocketPath, new FrameMutator(worker + 100), 5_000, () => Interlocked.Increment(ref sent)))).WithTimeout(TimeSpan.FromSeconds(90));

        PortReserveStatus status = await witness.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
        IReadOnlyList<PortReservationInfo> listing = await witness.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal(20_000, Interlocked.Read(ref sent));
        Assert.False(runtime.IsLost);
        Assert.Contains(listing, r => r.Token == runtime.Token && r.Count == 10);
        Assert.Contains(listing, r => r is { Kind: PortReservationKind.Persistent, StartPort: 9000, Count: 3 });
        Assert.True(KernelList.ContainsAll(7000, 7000) && KernelList.ContainsAll(9000, 9002) && KernelList.ContainsAll(runtime.StartPort, runtime.EndPort), KernelList.Text);
        Assert.Equal(true, status.KernelListMatches);
        Assert.DoesNotContain(" fail: ", daemon.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(" crit: ", daemon.Log, StringComparison.Ordinal);
    }

    /// <summary>Sends frames on a connection until the daemon closes it (a protocol violation), then reconnects.</summary>
    private static async Task FuzzAsync(string socketPath, FrameMutator mutator, int frames, Func<long> count)
    {
        int done = 0;
        while (done < frames)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), TestContext.Current.CancellationToken);
            Task drain = DrainAsync(socket);
            try
            {
                for (int i = 0; i < 200 && done < frames; i++)
                {
                    done++;
                    count();
                    await socket.SendAsync(mutator.Next(), SocketFlags.None, TestContext.Current.CancellationToken);
                }
            }
            catch (SocketException)
            {
            }

            socket.Shutdown(SocketShutdown.Both);
            await drain.WithTimeout();
        }
    }

    private static async Task DrainAsync(Socket socket)
    {
        byte[] buffer = new byte[70_000];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
    }
}
