using System.Net.Sockets;
using PortReserve.Client;
using PortReserve.Protocol;

namespace PortReserve;

/// <summary>
/// A runtime reservation of a block of ports, held until it is released, disposed, or its client goes away. Sockets
/// associated with it bind from the block without a call to the daemon.
/// </summary>
public sealed class PortReservation : IAsyncDisposable
{
    private readonly PortReservationClient _client;
    private readonly PortCursor _cursor;
    private readonly CancellationTokenSource _lost; // cancelled by the client, which holds it until released
    private int _released;

    internal PortReservation(PortReservationClient client, ReservationGrant grant)
    {
        _client = client;
        Block = grant.Block;
        Token = grant.Token;
        _cursor = new PortCursor(grant.Block.Range);
        _lost = new CancellationTokenSource();
    }

    /// <summary>The port space of the block.</summary>
    public PortReservationProtocol Protocol => Block.Protocol;

    /// <summary>The first port of the block.</summary>
    public int StartPort => Block.Range.Start;

    /// <summary>The number of ports in the block.</summary>
    public int Count => Block.Range.Count;

    /// <summary>The last port of the block.</summary>
    public int EndPort => Block.Range.End;

    /// <summary>The reservation's token (never 0), as <c>INET_PORT_RESERVATION_TOKEN</c>.</summary>
    public ulong Token { get; }

    internal PortBlock Block { get; }

    /// <summary>
    /// Fires when the reservation is gone for good: the daemon went away and none took the reservation back within
    /// <see cref="PortReservationClientOptions.ReconnectTimeout"/> (a daemon restarted in time keeps it, and nothing
    /// fires). Its ports may then be handed to others. Operations on it then fail with <see cref="PortReservationErrorKind.Aborted"/>.
    /// </summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True when the reservation was lost with the daemon.</summary>
    public bool IsLost => Lost.IsCancellationRequested;

    /// <summary>True once the reservation was released or its client disposed.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>
    /// Associates an unbound socket with this reservation (<c>SIO_ASSOCIATE_PORT_RESERVATION</c>); its
    /// <see cref="PortReservationSocketExtensions.BindReserved"/> then takes a port from the block. No call to the daemon.
    /// </summary>
    /// <param name="socket">An unbound TCP or UDP socket of this reservation's protocol.</param>
    /// <exception cref="PortReservationException">InvalidArgument for a bound socket, a protocol mismatch or a released reservation; OperationNotSupported for a socket that is not TCP or UDP; Aborted when the reservation was lost.</exception>
    public void Associate(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        PortReservationProtocol protocol = SocketAssociation.CheckAssociable(socket);
        ThrowIfUnusable();
        if (protocol != Protocol)
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"the reservation is for {Protocol.ToString().ToUpperInvariant()} ports; the socket is {protocol.ToString().ToUpperInvariant()}");
        }

        SocketAssociation.Associate(socket, new SocketAssociation(Block, this, Lost, _cursor));
    }

    /// <summary>Releases the reservation (<c>SIO_RELEASE_PORT_RESERVATION</c>); its ports are free when the task completes.</summary>
    /// <param name="cancellationToken">Cancels waiting for the daemon.</param>
    /// <returns>A task that completes when the daemon has released the block. Releasing again does nothing.</returns>
    /// <exception cref="PortReservationException">Aborted when the connection to the daemon was lost (the reservation is gone anyway).</exception>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (IsReleased)
        {
            return;
        }

        await _client.ReleaseTokenAsync(Token, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the reservation; never throws for a reservation that is already gone.</summary>
    /// <returns>A task that completes when the block is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (IsReleased || IsLost || _client.IsClosed)
        {
            MarkReleased();
            return;
        }

        try
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
        catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.Aborted)
        {
            // Connection lost: the daemon released it with the connection.
        }
        catch (ObjectDisposedException)
        {
            // The client was disposed first, which released everything it held.
        }

        MarkReleased();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Block} (token {Token})";

    internal void MarkReleased() => Volatile.Write(ref _released, 1);

    /// <summary>The daemon came back without this reservation: it is gone.</summary>
    internal void MarkLost() => _lost.Cancel();

    private void ThrowIfUnusable()
    {
        if (IsLost)
        {
            throw new PortReservationException(PortReservationErrorKind.Aborted, $"the reservation of {this} was lost with portreserved, which did not come back with it in time; acquire a new one");
        }

        if (IsReleased || _client.IsClosed)
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"the reservation of {this} was released; its token is no longer valid");
        }
    }
}
