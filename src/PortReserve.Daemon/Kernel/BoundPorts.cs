using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The ports of a range that sockets of one protocol have bound in the daemon's network namespace, from one
/// NETLINK_SOCK_DIAG dump per address family (what <c>ss -a</c> reads), filtered by the kernel to the range with the
/// dump's bytecode (<c>sport &gt;= lo &amp;&amp; sport &lt;= hi</c>). The filter keeps the answer small, but the kernel
/// still walks its whole TCP connection table to give it (5 ms here, with 262,144 buckets), so the daemon asks only when
/// a probe cannot tell (see <see cref="SocketPortUsage"/>). A TCP socket counts in every state but TIME_WAIT: bound but neither listening nor connected
/// (the pseudo-state TCP_BOUND_INACTIVE, dumped since Linux 6.5), listening, or connected; a TIME_WAIT leftover does not,
/// since a restarting server binds through it. Every UDP socket counts.
/// </summary>
/// <remarks>
/// For UDP this is the answer a probe bind without SO_REUSEADDR gives port by port. For TCP it is the right one where a
/// probe cannot be: a probe needs SO_REUSEADDR to bind through TIME_WAIT, and with it binds beside any non-listening
/// socket that also set SO_REUSEADDR (as .NET sockets do), missing a port that socket holds.
/// </remarks>
internal static class BoundPorts
{
    private const int AfInet = 2;
    private const int AfInet6 = 10;
    private const int NetlinkSockDiag = 4;
    private const ushort SockDiagByFamily = 20;
    private const ushort FlagsRequestDump = 1 | 0x300; // NLM_F_REQUEST | NLM_F_DUMP
    private const ushort Done = 3;                     // NLMSG_DONE
    private const ushort Error = 2;                    // NLMSG_ERROR
    private const int HeaderSize = 16;                 // struct nlmsghdr
    private const int RequestSize = 56;                // struct inet_diag_req_v2
    private const ushort RequestBytecode = 1;          // INET_DIAG_REQ_BYTECODE attribute
    private const byte SourcePortAtLeast = 2;          // INET_DIAG_BC_S_GE
    private const byte SourcePortAtMost = 3;           // INET_DIAG_BC_S_LE
    private const int FilterSize = 16;                 // two comparisons of two struct inet_diag_bc_op each
    private const int SourcePortOffset = 4;            // inet_diag_msg.id.idiag_sport (network order)
    private const int TcpTimeWait = 6;
    private const int TcpBoundInactive = 13;

    /// <summary>Every TCP state up to TCP_BOUND_INACTIVE, but TIME_WAIT (and the unused bit 0).</summary>
    private const uint TcpStates = ((1u << (TcpBoundInactive + 1)) - 1) & ~1u & ~(1u << TcpTimeWait);

    /// <summary>True where the dump lists bound-only TCP sockets (Linux 6.5 and later), so it can stand in for probes.</summary>
    public static bool Complete { get; } = Environment.OSVersion.Version >= new Version(6, 5);

    /// <summary>The ports of <paramref name="range"/> bound by sockets of <paramref name="protocol"/>; throws <see cref="IOException"/> when the kernel will not say.</summary>
    public static PortSet In(PortReservationProtocol protocol, Protocol.PortRange range)
    {
        var ports = new PortSet();
        using SafeFileHandle socket = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, NetlinkSockDiag);
        if (socket.IsInvalid)
        {
            throw new IOException($"cannot open a sock_diag socket: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        }

        byte[] buffer = new byte[32 * 1024];
        foreach (int family in (ReadOnlySpan<int>)[AfInet, AfInet6])
        {
            Request(socket, family, protocol, range);
            Collect(socket, buffer, ports);
        }

        return ports;
    }

    private static void Request(SafeFileHandle socket, int family, PortReservationProtocol protocol, Protocol.PortRange range)
    {
        Span<byte> message = stackalloc byte[HeaderSize + RequestSize + 4 + FilterSize];
        message.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message[4..], SockDiagByFamily);
        BinaryPrimitives.WriteUInt16LittleEndian(message[6..], FlagsRequestDump);
        Span<byte> request = message[HeaderSize..];
        request[0] = (byte)family;
        request[1] = (byte)(protocol == PortReservationProtocol.Tcp ? 6 : 17);
        BinaryPrimitives.WriteUInt32LittleEndian(request[4..], protocol == PortReservationProtocol.Tcp ? TcpStates : uint.MaxValue);

        // struct nlattr, then the filter. Each comparison is an op and an op whose "no" holds the port; "yes" steps to
        // the next op, "no" jumps past the end, which rejects the socket. Reaching the end exactly accepts it.
        Span<byte> attribute = request[RequestSize..];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, 4 + FilterSize);
        BinaryPrimitives.WriteUInt16LittleEndian(attribute[2..], RequestBytecode);
        WriteComparison(attribute[4..], SourcePortAtLeast, range.Start, remaining: FilterSize);
        WriteComparison(attribute[12..], SourcePortAtMost, range.End, remaining: FilterSize - 8);
        if (Libc.Send(socket, message, 0) != message.Length)
        {
            throw new IOException($"sock_diag request failed: {Libc.Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }, twice: the comparison, then the port it compares with.</summary>
    private static void WriteComparison(Span<byte> destination, byte code, int port, int remaining)
    {
        destination[0] = code;
        destination[1] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)(remaining + 4));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)port);
    }

    /// <summary>Reads the dump's messages until NLMSG_DONE, adding each socket's local port.</summary>
    private static void Collect(SafeFileHandle socket, byte[] buffer, PortSet ports)
    {
        while (true)
        {
            int length = (int)Libc.Receive(socket, buffer, 0);
            if (length <= 0)
            {
                throw new IOException($"sock_diag dump failed: {(length < 0 ? Libc.Describe(Marshal.GetLastPInvokeError()) : "the kernel closed it")}");
            }

            for (int offset = 0; offset + HeaderSize <= length;)
            {
                int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 4));
                if (type == Done)
                {
                    return;
                }

                if (type == Error || size < HeaderSize + SourcePortOffset + 2 || offset + size > length)
                {
                    throw new IOException("sock_diag answered with an error or a malformed message");
                }

                int port = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(offset + HeaderSize + SourcePortOffset));
                if (port != 0)
                {
                    ports.Add(new Protocol.PortRange(port, 1));
                }

                offset += (size + 3) & ~3; // NLMSG_ALIGN
            }
        }
    }
}
