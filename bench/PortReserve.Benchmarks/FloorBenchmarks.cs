using System.Net;
using System.Net.Sockets;

namespace PortReserve.Benchmarks;

/// <summary>The floors: a minimal SEQPACKET echo over a Unix socket (IPC) and create + bind(0) + close (kernel).</summary>
internal static class FloorBenchmarks
{
    /// <summary>Round trips of a 16-byte message (an acquire request is 13) to an in-process echo server.</summary>
    public static async Task<Latencies> EchoAsync(int count)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("prb-echo-").FullName, "s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        Task server = Task.Run(async () =>
        {
            using Socket connection = await listener.AcceptAsync();
            byte[] buffer = new byte[4096];
            int received;
            while ((received = await connection.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                await connection.SendAsync(buffer.AsMemory(0, received), SocketFlags.None);
            }
        });

        using var client = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        byte[] request = new byte[16];
        byte[] reply = new byte[4096];
        Latencies latencies = await Latencies.MeasureAsync(2000, count, async () =>
        {
            await client.SendAsync(request, SocketFlags.None);
            await client.ReceiveAsync(reply, SocketFlags.None);
        });
        client.Shutdown(SocketShutdown.Both);
        await server;
        return latencies;
    }

    public static Latencies BindZero(int count) => Latencies.Measure(2000, count, () =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    });
}
