using System.Net.Sockets;

namespace PortReserve.Daemon.Kernel;

/// <summary>The daemon's network namespace as the kernel identifies it to BPF programs.</summary>
internal static class NetworkNamespace
{
    private const int SolSocket = 1;
    private const int SoNetnsCookie = 71;

    /// <summary>
    /// The namespace's cookie (getsockopt SO_NETNS_COOKIE on any socket in it): the value <c>bpf_get_netns_cookie</c>
    /// returns for a bind in the same namespace.
    /// </summary>
    public static ulong Cookie()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Span<byte> cookie = stackalloc byte[sizeof(ulong)];
        return socket.GetRawSocketOption(SolSocket, SoNetnsCookie, cookie) == sizeof(ulong)
            ? System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(cookie)
            : throw new IOException("SO_NETNS_COOKIE returned no cookie");
    }
}
