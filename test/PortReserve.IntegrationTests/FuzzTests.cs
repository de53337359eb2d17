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

        (int Replies, int ClosedByDaemon)[] outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => FuzzAsync(daemon.SocketPath, new FrameMutator(worker + 100), 5_000))).WithTimeout(TimeSpan.FromSeconds(90));

        PortReserveStatus status = await witness.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
        IReadOnlyList<PortReservationInfo> listing = await witness.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        // The daemon took the garbage seriously: it answered malformed requests and closed connections that broke the protocol.
        Assert.True(outcomes.Sum(o => o.Replies) >= 10 && outcomes.Sum(o => o.ClosedByDaemon) >= 50, $"{outcomes.Sum(o => o.Replies)} replies to 20,000 frames, {outcomes.Sum(o => o.ClosedByDaemon)} connections closed for protocol violations");
        Assert.False(runtime.IsLost);
        Assert.Contains(listing, r => r.Token == runtime.Token && r.Count == 10);
        Assert.Contains(listing, r => r is { Kind: PortReservationKind.Persistent, StartPort: 9000, Count: 3 });
        Assert.True(KernelList.ContainsAll(7000, 7000) && KernelList.ContainsAll(9000, 9002) && KernelList.ContainsAll(runtime.StartPort, runtime.EndPort), KernelList.Text);
        // Connections the fuzzers left release their holders' ports in a commit that may still be running: the list
        // must match the table once it has settled.
        status = await Timeouts.Eventually(() => witness.GetStatusAsync(TestContext.Current.CancellationToken).AsTask(), s => s.KernelListMatches == true, TimeSpan.FromSeconds(10));

        Assert.Equal(true, status.KernelListMatches);
        Assert.DoesNotContain(" fail: ", daemon.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(" crit: ", daemon.Log, StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends frames on a connection until the daemon closes it (a protocol violation) or 200 went out, then reconnects;
    /// returns how many replies came back and how many connections the daemon closed.
    /// </summary>
    private static async Task<(int Replies, int ClosedByDaemon)> FuzzAsync(string socketPath, FrameMutator mutator, int frames)
    {
        int done = 0, replies = 0, closedByDaemon = 0;
        while (done < frames)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), TestContext.Current.CancellationToken);
            Task<int> drain = DrainAsync(socket);
            bool closed = false;
            try
            {
                for (int i = 0; i < 200 && done < frames && !(closed = drain.IsCompleted); i++)
                {
                    done++;
                    await socket.SendAsync(mutator.Next(), SocketFlags.None, TestContext.Current.CancellationToken);
                }
            }
            catch (SocketException)
            {
                // EPIPE or a reset: the daemon hung up on this connection.
                closed = true;
            }

            socket.Shutdown(SocketShutdown.Both);
            closedByDaemon += closed ? 1 : 0;
            replies += await drain.WithTimeout();
        }

        return (replies, closedByDaemon);
    }

    /// <summary>Reads replies until the connection ends; counts them.</summary>
    private static async Task<int> DrainAsync(Socket socket)
    {
        byte[] buffer = new byte[70_000];
        int replies = 0;
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken) > 0)
            {
                replies++;
            }
        }
        catch (SocketException)
        {
        }

        return replies;
    }
}
