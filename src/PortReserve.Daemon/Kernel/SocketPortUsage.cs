using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using PortReserve.Interop;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Asks the kernel itself whether ports are in use, by probing each port: a probe socket tries to bind the wildcard
/// address (dual-stack, so IPv4 and IPv6 binds both conflict) and is closed at once. The kernel's own conflict rules
/// answer, so bound-only sockets are seen too.
/// <list type="bullet">
/// <item>UDP: a probe without SO_REUSEADDR conflicts with any bound UDP socket: exact.</item>
/// <item>TCP: a probe without SO_REUSEADDR that binds means the port is free. One that does not is tried again with
/// SO_REUSEADDR: still refused, a listener or a socket without SO_REUSEADDR holds it. Bound this time, the port is held
/// only by TIME_WAIT leftovers (which a restarting server binds through, so they do not count) or by a non-listening
/// socket that set SO_REUSEADDR (as .NET sockets do, which do count). The wildcard search counts such a port as in use
/// (it has others to choose from); a specific request settles it with the kernel's socket dump
/// (<see cref="BoundPorts"/>), which is exact but walks the kernel's whole connection table (milliseconds), and so is
/// kept for this case.</item>
/// </list>
/// </summary>
/// <param name="gate">Lets the probe sockets through the bind hook, which refuses binds to a reserved port from before the check.</param>
internal sealed class SocketPortUsage(IProbeGate? gate = null) : IPortUsage
{
    private readonly bool _ipv6 = CanCreate(Libc.AF_INET6);

    public int FirstInUse(PortReservationProtocol protocol, PortRange range, bool exact)
    {
        // Doubtful ports (held only by TIME_WAIT leftovers, or by a non-listening socket with SO_REUSEADDR) are settled
        // together, by one socket dump over them, however many there are: a dump per port would let one request of
        // thousands of ports in TIME_WAIT keep the daemon busy for seconds.
        int firstDoubtful = -1, lastDoubtful = -1;
        for (int port = range.Start; port <= range.End; port++)
        {
            switch (Check(protocol, port))
            {
                case Outcome.InUse:
                    return firstDoubtful >= 0 && SettleDoubtful(protocol, firstDoubtful, lastDoubtful) is >= 0 and var doubtful ? doubtful : port;
                case Outcome.Doubtful when !exact:
                    return port;
                case Outcome.Doubtful:
                    firstDoubtful = firstDoubtful < 0 ? port : firstDoubtful;
                    lastDoubtful = port;
                    break;
            }
        }

        return firstDoubtful >= 0 ? SettleDoubtful(protocol, firstDoubtful, lastDoubtful) : -1;
    }

    private Outcome Check(PortReservationProtocol protocol, int port)
    {
        if (Probe(protocol, port, reuseAddress: false) is not Outcome.InUse)
        {
            return Outcome.Free;
        }

        return protocol == PortReservationProtocol.Udp || Probe(protocol, port, reuseAddress: true) is Outcome.InUse ? Outcome.InUse : Outcome.Doubtful;
    }

    /// <summary>The first doubtful port in [first, last] a socket has bound (not TIME_WAIT leftovers), by the kernel's socket dump; -1 for none.</summary>
    private static int SettleDoubtful(PortReservationProtocol protocol, int first, int last)
    {
        if (!BoundPorts.Complete)
        {
            return -1;
        }

        try
        {
            return BoundPorts.In(protocol, PortRange.FromBounds(first, last)).FirstIn(PortRange.FromBounds(first, last));
        }
        catch (IOException)
        {
            return first;
        }
    }

    private Outcome Probe(PortReservationProtocol protocol, int port, bool reuseAddress)
    {
        int type = (protocol == PortReservationProtocol.Tcp ? Libc.SOCK_STREAM : Libc.SOCK_DGRAM) | Libc.SOCK_CLOEXEC;
        using SafeFileHandle probe = Libc.Socket(_ipv6 ? Libc.AF_INET6 : Libc.AF_INET, type, 0);
        if (probe.IsInvalid)
        {
            // Out of descriptors: claim nothing is free rather than hand out a port we could not check.
            return Outcome.InUse;
        }

        gate?.Open(Libc.SocketCookie(probe));
        try
        {
            return TryBind(probe, port, reuseAddress, out int errno) || errno != Libc.EADDRINUSE ? Outcome.Free : Outcome.InUse;
        }
        finally
        {
            gate?.Close();
        }
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

    private enum Outcome
    {
        Free,
        InUse,
        Doubtful,
    }
}
