using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Interop;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Asks the kernel itself whether ports are in use. A few ports are probed one by one: a probe socket tries to bind the
/// wildcard address (dual-stack, so IPv4 and IPv6 binds both conflict) and is closed at once, four system calls a port.
/// The kernel's own conflict rules answer: a UDP probe (without SO_REUSEADDR) conflicts with any bound UDP socket.
/// A larger UDP block, and TCP ports of any number, are checked at once against the kernel's dump of the sockets bound
/// in the range (<see cref="BoundPorts"/>): a TCP probe would need SO_REUSEADDR to bind through TIME_WAIT leftovers,
/// and with it would miss a bound but non-listening socket that set SO_REUSEADDR too, as .NET sockets do. Where the
/// kernel does not dump bound-only TCP sockets (before Linux 6.5), TCP is probed, with that gap.
/// </summary>
internal sealed class SocketPortUsage : IPortUsage
{
    /// <summary>Up to this many UDP ports, probing (four system calls a port) costs less than a dump.</summary>
    private const int ProbeLimit = 16;

    private readonly bool _ipv6 = CanCreate(Libc.AF_INET6);

    public int FirstInUse(PortReservationProtocol protocol, PortRange range)
    {
        bool dump = protocol == PortReservationProtocol.Tcp ? BoundPorts.Complete : range.Count > ProbeLimit;
        if (dump)
        {
            try
            {
                return BoundPorts.In(protocol, range).FirstIn(range);
            }
            catch (IOException)
            {
                // The kernel would not dump; probing gives the same answer, only slower.
            }
        }

        for (int port = range.Start; port <= range.End; port++)
        {
            if (IsInUse(protocol, port))
            {
                return port;
            }
        }

        return -1;
    }

    private bool IsInUse(PortReservationProtocol protocol, int port)
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
