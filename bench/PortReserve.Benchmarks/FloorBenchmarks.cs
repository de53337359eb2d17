using System.Net;
using System.Net.Sockets;

namespace PortReserve.Benchmarks;

/// <summary>The kernel floor: create + bind(0) + close (the IPC floor is <see cref="EchoFloor"/>).</summary>
internal static class FloorBenchmarks
{
    public static Latencies BindZero(int count) => Latencies.Measure(2000, count, () =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    });
}
