using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// What <c>SIO_ASSOCIATE_PORT_RESERVATION</c> leaves on a socket: the block its bind must take a port from. Kept beside
/// the socket (weakly, so an abandoned socket does not keep it alive) and consulted by BindReserved.
/// </summary>
internal sealed class SocketAssociation
{
    private static readonly ConditionalWeakTable<Socket, SocketAssociation> s_associations = [];
    private readonly PortCursor _cursor;
    private readonly PortReservation? _owner;
    private readonly CancellationToken _connectionLost;

    public SocketAssociation(PortBlock block, PortReservation? owner, CancellationToken connectionLost, PortCursor? cursor = null)
    {
        Block = block;
        _cursor = cursor ?? new PortCursor(block.Range);
        _owner = owner;
        _connectionLost = connectionLost;
    }

    public PortBlock Block { get; }

    private PortRange Range => Block.Range;

    public static bool TryGet(Socket socket, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SocketAssociation? association)
        => s_associations.TryGetValue(socket, out association);

    public static void Associate(Socket socket, SocketAssociation association) => s_associations.AddOrUpdate(socket, association);

    /// <summary>Checks that a socket may be associated and returns the port space it binds in.</summary>
    public static PortReservationProtocol CheckAssociable(Socket socket)
    {
        PortReservationProtocol protocol = (socket.SocketType, socket.ProtocolType) switch
        {
            (SocketType.Stream, ProtocolType.Tcp) => PortReservationProtocol.Tcp,
            (SocketType.Dgram, ProtocolType.Udp) => PortReservationProtocol.Udp,
            _ => throw new PortReservationException(PortReservationErrorKind.OperationNotSupported, $"a {socket.SocketType}/{socket.ProtocolType} socket cannot use a port reservation; only TCP and UDP sockets can"),
        };

        if (socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new PortReservationException(PortReservationErrorKind.OperationNotSupported, $"a {socket.AddressFamily} socket cannot use a port reservation; only IPv4 and IPv6 sockets can");
        }

        if (socket.IsBound)
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"the socket is already bound to {socket.LocalEndPoint}; associate a socket with a reservation before binding it");
        }

        return protocol;
    }

    /// <summary>Binds to the requested port of the block, or with port 0 to the next free one.</summary>
    public void Bind(Socket socket, IPEndPoint localEndPoint)
    {
        ThrowIfUnusable();
        if (localEndPoint.Port != 0)
        {
            BindExplicit(socket, localEndPoint);
            return;
        }

        for (int attempt = 0; attempt < Range.Count; attempt++)
        {
            try
            {
                socket.Bind(new IPEndPoint(localEndPoint.Address, _cursor.Next()));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }

        throw new PortReservationException(PortReservationErrorKind.AddressAlreadyInUse, $"every port of the reserved {Block.Protocol.ToString().ToUpperInvariant()} block {Range} is taken on {localEndPoint.Address}; close a socket bound from it or reserve a larger block");
    }

    private void BindExplicit(Socket socket, IPEndPoint localEndPoint)
    {
        if (!Range.Contains(localEndPoint.Port))
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"port {localEndPoint.Port} is outside the reserved block {Range}; bind to a port inside it, or to port 0 for any");
        }

        for (int attempt = 0; ; attempt++)
        {
            try
            {
                socket.Bind(localEndPoint);
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < TransientRetries)
            {
                // Someone else's bind that passed the kernel's first check before the port was reserved holds the port
                // for the moment the post-bind hook takes to refuse it; it is gone within microseconds.
                Thread.Sleep(1);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new PortReservationException(PortReservationErrorKind.AddressAlreadyInUse, $"port {localEndPoint.Port} of the reserved block {Range} is already bound on {localEndPoint.Address}", e);
            }
        }
    }

    private const int TransientRetries = 3;

    private void ThrowIfUnusable()
    {
        if (_connectionLost.IsCancellationRequested)
        {
            throw new PortReservationException(PortReservationErrorKind.Aborted, $"the reservation of block {Range} was lost with the connection to portreserved; acquire a new one");
        }

        if (_owner is { IsReleased: true })
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"the reservation of block {Range} was released; its token is no longer valid");
        }
    }
}
