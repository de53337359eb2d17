using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Interop;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Asks the kernel itself whether a port is in use: a probe socket tries to bind the wildcard address (dual-stack, so
/// IPv4 and IPv6 binds both conflict) and is closed at once. The kernel's own conflict rules answer, so bound-only
/// sockets that /proc/net does not list are seen too. TCP probes set SO_REUSEADDR so that TIME_WAIT leftovers, which a
/// restarting server binds through, do not count as in use; UDP probes do not, so any bound UDP socket counts.
/// </summary>
internal sealed class SocketPortUsage : IPortUsage
{
    private readonly bool _ipv6 = CanCreate(Libc.AF_INET6);

    public bool IsInUse(PortReservationProtocol protocol, int port)
    {
        int type = (protocol == PortReservationProtocol.Tcp ? Libc.SOCK_STREAM : Libc.SOCK_DGRAM) | Libc.SOCK_CLOEXEC;
        using SafeFileHandle probe = Libc.Socket(_ipv6 ? Libc.AF_INET6 : Libc.AF_INET, type, 0);
        if (probe.IsInvalid)
        {
            // Out of descriptors: claim nothing is free rather than hand out a port we could not check.
            return true;
        }

        return !TryBind(probe, port, protocol == PortReservationProtocol.Tcp, out int errno) && errno == Libc.EADDRINUSE;
    }

    private unsafe bool TryBind(SafeFileHandle probe, int port, bool reuseAddress, out int errno)
    {
        int one = 1;
        int zero = 0;
        if (reuseAddress)
        {
            Libc.SetSockOpt(probe, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, &one, sizeof(int));
        }

        Span<byte> address = stackalloc byte[28];
        address.Clear();
        if (_ipv6)
        {
            Libc.SetSockOpt(probe, Libc.IPPROTO_IPV6, Libc.IPV6_V6ONLY, &zero, sizeof(int));
            BinaryPrimitives.WriteUInt16LittleEndian(address, Libc.AF_INET6);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(address, Libc.AF_INET);
        }

        BinaryPrimitives.WriteUInt16BigEndian(address[2..], checked((ushort)port));
        fixed (byte* pointer = address)
        {
            int result = Libc.Bind(probe, pointer, _ipv6 ? 28 : 16);
            errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
            return result == 0;
        }
    }

    private static bool CanCreate(int family)
    {
        using SafeFileHandle socket = Libc.Socket(family, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        return !socket.IsInvalid;
    }
}
