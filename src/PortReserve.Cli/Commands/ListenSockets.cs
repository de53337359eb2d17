using System.Net;
using System.Net.Sockets;

namespace PortReserve.Cli.Commands;

/// <summary>
/// The sockets <c>run --listen</c> binds, each from a reservation, for the command to be handed as descriptors 3, 4, …
/// in flag order, the way systemd passes sockets (<c>sd_listen_fds(3)</c>): TCP sockets listening, UDP ones bound.
/// </summary>
internal sealed class ListenSockets : IDisposable
{
    private readonly List<Socket> _sockets = [];
    private readonly List<int> _handedOff = [];

    public int Count => _sockets.Count;

    /// <summary>Each socket's name for <c>LISTEN_FDNAMES</c>: its protocol and the port it is bound to, as <c>tcp-443</c>.</summary>
    public IEnumerable<string> Names => _sockets.Select(s => $"{(s.ProtocolType == ProtocolType.Tcp ? "tcp" : "udp")}-{((IPEndPoint)s.LocalEndPoint!).Port}");

    /// <summary>
    /// Binds a socket for each spec: a port inside a persistent reservation the caller may use is bound from that one;
    /// any other port (0: any free one) from a runtime reservation of its own, added to <paramref name="held"/> to be
    /// held while the command runs.
    /// </summary>
    public static async Task<ListenSockets> OpenAsync(PortReservationClient client, IReadOnlyList<ListenSpec> specs, List<PortReservation> held, CancellationToken cancellationToken)
    {
        // The token of a persistent reservation is shown only to those who may use it.
        IReadOnlyList<PortReservationInfo> usable = specs.Any(s => s.Port != 0)
            ? [.. (await client.ShowAsync(cancellationToken: cancellationToken)).Where(r => r is { Kind: PortReservationKind.Persistent, Token: not null })]
            : [];
        var sockets = new ListenSockets();
        try
        {
            foreach (ListenSpec spec in specs)
            {
                Socket socket = Create(spec);
                sockets._sockets.Add(socket);
                if (spec.Port != 0 && usable.FirstOrDefault(r => r.Protocol == spec.Protocol && r.StartPort <= spec.Port && spec.Port <= r.EndPort) is { Token: ulong token })
                {
                    await client.AssociateAsync(socket, token, cancellationToken);
                }
                else
                {
                    PortReservation reservation = await client.AcquireAsync(spec.Protocol, spec.Port, 1, cancellationToken);
                    held.Add(reservation);
                    reservation.Associate(socket);
                }

                socket.BindReserved(new IPEndPoint(spec.Address ?? (socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any), spec.Port));
                if (spec.Protocol == PortReservationProtocol.Tcp)
                {
                    // The kernel's own limit (net.core.somaxconn), as systemd's sockets get.
                    socket.Listen();
                }
            }

            return sockets;
        }
        catch
        {
            sockets.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inheritable duplicates of the sockets, numbered above the descriptors they will become (3 to 3+Count-1), so that
    /// moving them there can never overwrite one not yet moved; closed again by <see cref="Dispose"/>.
    /// </summary>
    public IReadOnlyList<int> DuplicateForChild()
    {
        foreach (Socket socket in _sockets)
        {
            _handedOff.Add(Interop.Libc.DuplicateInheritable(socket.Handle, 3 + _sockets.Count));
        }

        return _handedOff;
    }

    public void Dispose()
    {
        foreach (int fd in _handedOff)
        {
            _ = Interop.Libc.Close(fd);
        }

        _handedOff.Clear();
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }
    }

    /// <summary>Without an address: one socket for every address, IPv6 and IPv4 (dual-stack), or IPv4 where the kernel has no IPv6.</summary>
    private static Socket Create(ListenSpec spec)
    {
        (SocketType type, ProtocolType protocol) = spec.Protocol == PortReservationProtocol.Tcp ? (SocketType.Stream, ProtocolType.Tcp) : (SocketType.Dgram, ProtocolType.Udp);
        if (spec.Address is { } address)
        {
            return new Socket(address.AddressFamily, type, protocol);
        }

        try
        {
            return new Socket(AddressFamily.InterNetworkV6, type, protocol) { DualMode = true };
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressFamilyNotSupported)
        {
            return new Socket(AddressFamily.InterNetwork, type, protocol);
        }
    }
}
