using System.Net.Sockets;

namespace PortReserve.Benchmarks;

/// <summary>The IPC floor: round trips of a 16-byte message (an acquire request is 13) over SEQPACKET to an in-process echo server.</summary>
internal sealed class EchoFloor : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Socket _client;
    private readonly Task _server;
    private readonly string _directory;
    private readonly byte[] _request = new byte[16];
    private readonly byte[] _reply = new byte[4096];

    private EchoFloor(Socket listener, Socket client, Task server, string directory)
    {
        _listener = listener;
        _client = client;
        _server = server;
        _directory = directory;
    }

    public static async Task<EchoFloor> StartAsync()
    {
        string directory = Directory.CreateTempSubdirectory("prb-echo-").FullName;
        string path = Path.Combine(directory, "s");
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
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
        var client = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var floor = new EchoFloor(listener, client, server, directory);
        await floor.MeasureAsync(2000);
        return floor;
    }

    public Task<Latencies> MeasureAsync(int count) => Latencies.MeasureAsync(0, count, async () =>
    {
        await _client.SendAsync(_request, SocketFlags.None);
        await _client.ReceiveAsync(_reply, SocketFlags.None);
    });

    public async ValueTask DisposeAsync()
    {
        _client.Shutdown(SocketShutdown.Both);
        await _server;
        _client.Dispose();
        _listener.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
