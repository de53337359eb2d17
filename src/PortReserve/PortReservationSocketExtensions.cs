using System.Net;
using System.Net.Sockets;
using PortReserve.Client;

namespace PortReserve;

/// <summary>Binding a socket that was associated with a port reservation.</summary>
public static class PortReservationSocketExtensions
{
    /// <summary>
    /// Binds an associated socket to a port of its reservation: with port 0 to a free port of the block, otherwise to
    /// that port, which must be inside the block. A plain kernel bind, with no call to the daemon.
    /// </summary>
    /// <param name="socket">A socket associated with <see cref="PortReservation.Associate(Socket)"/> or <see cref="PortReservationClient.AssociateAsync"/>.</param>
    /// <param name="localEndPoint">The local address, and port 0 or a port of the block. IPv4, IPv6 and dual-stack all work.</param>
    /// <exception cref="InvalidOperationException">The socket was not associated with a reservation.</exception>
    /// <exception cref="PortReservationException">InvalidArgument for a port outside the block or a released reservation; AddressAlreadyInUse when the port, or every port of the block, is taken; Aborted when the reservation was lost.</exception>
    public static void BindReserved(this Socket socket, EndPoint localEndPoint)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(localEndPoint);
        if (localEndPoint is not IPEndPoint ipEndPoint)
        {
            throw new ArgumentException($"a reserved bind needs an IPEndPoint, not {localEndPoint.GetType().Name}", nameof(localEndPoint));
        }

        if (!SocketAssociation.TryGet(socket, out SocketAssociation? association))
        {
            throw new InvalidOperationException("the socket is not associated with a port reservation; call PortReservation.Associate or PortReservationClient.AssociateAsync before BindReserved");
        }

        association.Bind(socket, ipEndPoint);
    }
}
