using System.Collections.Concurrent;
using System.Net.Sockets;
using PortReserve.Client;
using PortReserve.Protocol;

namespace PortReserve;

/// <summary>
/// A connection to portreserved. Runtime reservations acquired through it live until they are released or the client is
/// disposed (or its process exits), like Windows <c>SIO_ACQUIRE_PORT_RESERVATION</c> reservations that die with their socket.
/// </summary>
public sealed partial class PortReservationClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<ulong, PortReservation> _held = new();
    private readonly Reconnector _reconnector;

    private PortReservationClient(DaemonConnection connection, Reconnector.Settings settings) => _reconnector = new Reconnector(connection, settings, _held);

    /// <summary>The socket of the daemon this client is connected to.</summary>
    public string SocketPath => _reconnector.Current.SocketPath;

    /// <summary>
    /// Fires when the client has lost the daemon for good: the connection broke and no daemon took it back within
    /// <see cref="PortReservationClientOptions.ReconnectTimeout"/>. Every runtime reservation of this client is then gone.
    /// A daemon that restarts within that time is reconnected to, and each reservation taken back (one that cannot be
    /// fires its own <see cref="PortReservation.Lost"/>). It does not fire when the client is disposed.
    /// </summary>
    public CancellationToken ConnectionLost => _reconnector.GaveUp;

    /// <summary>Connects to the daemon.</summary>
    /// <param name="options">Where the daemon listens; null for the default paths.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>A connected client.</returns>
    /// <exception cref="PortReservationException">With <see cref="PortReservationErrorKind.ServiceUnavailable"/> when no daemon answers; <see cref="PortReservationErrorKind.OperationNotSupported"/> on a system other than Linux.</exception>
    public static async ValueTask<PortReservationClient> ConnectAsync(PortReservationClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        // The library carries no platform attribute, so that apps need none: elsewhere it says so here, at run time.
        if (!OperatingSystem.IsLinux())
        {
            throw new PortReservationException(
                PortReservationErrorKind.OperationNotSupported,
                "PortReserve runs on Linux only: portreserved enforces reservations in the Linux kernel. On Windows, the system's own port reservations (SIO_ACQUIRE_PORT_RESERVATION) do the same.");
        }

        // A socket the caller named is trusted as named; one the client finds must be served by root or this user.
        bool named = true;
        IReadOnlyList<string> candidates = options?.SocketPath is { Length: > 0 } path ? [path] : SocketCandidates.Default(out named);
        var settings = new Reconnector.Settings(candidates, !named, options?.RequestTimeout ?? PortReservationClientOptions.DefaultRequestTimeout, options?.ReconnectTimeout ?? PortReservationClientOptions.DefaultReconnectTimeout);
        DaemonConnection connection = await DaemonConnector.ConnectAsync(candidates, settings.TrustedServersOnly, settings.RequestTimeout, cancellationToken).ConfigureAwait(false);
        return new PortReservationClient(connection, settings);
    }

    /// <summary>
    /// Acquires a runtime reservation of <paramref name="count"/> consecutive ports (<c>SIO_ACQUIRE_PORT_RESERVATION</c>).
    /// </summary>
    /// <param name="protocol">The port space: TCP or UDP.</param>
    /// <param name="startPort">The first port of the block, or 0 to let the daemon choose a free block in its wildcard range.</param>
    /// <param name="count">How many ports, 1 to 65535.</param>
    /// <param name="cancellationToken">Cancels waiting; a block granted after cancellation is released at once.</param>
    /// <returns>The reservation; dispose it to release the ports.</returns>
    /// <exception cref="PortReservationException">InvalidArgument for a bad range, AddressAlreadyInUse when the block overlaps a reservation or holds a port in use, NoBufferSpaceAvailable when no block is free or a quota is reached.</exception>
    public async ValueTask<PortReservation> AcquireAsync(PortReservationProtocol protocol, int startPort, int count, CancellationToken cancellationToken = default)
    {
        PortBlock block = CheckedBlock(protocol, startPort, count, wildcardAllowed: true);
        Reply reply = await _reconnector.RequestAsync(MessageType.Acquire, block, cancellationToken).ConfigureAwait(false);
        ReservationGrant grant = ReadGrant(reply.ThrowIfError());
        var reservation = new PortReservation(this, grant);
        _held[grant.Token] = reservation;

        // Given up between the grant and now: the give-up did not see it, so it is marked here.
        if (_reconnector.GaveUp.IsCancellationRequested && _held.TryRemove(grant.Token, out _))
        {
            reservation.MarkLost();
        }

        return reservation;
    }

    /// <summary>Releases a runtime reservation by token (<c>SIO_RELEASE_PORT_RESERVATION</c>). Only the acquiring process may.</summary>
    /// <param name="token">The reservation's token.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>A task that completes when the ports are free again.</returns>
    /// <exception cref="PortReservationException">InvalidArgument for an unknown token; AccessDenied for another process's token.</exception>
    public async ValueTask ReleaseAsync(ulong token, CancellationToken cancellationToken = default)
    {
        if (_held.TryGetValue(token, out PortReservation? reservation))
        {
            await reservation.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await ReleaseTokenAsync(token, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Associates an unbound socket with the reservation a token names (<c>SIO_ASSOCIATE_PORT_RESERVATION</c>), so that
    /// <see cref="PortReservationSocketExtensions.BindReserved(Socket, System.Net.EndPoint)"/> takes its port from that block.
    /// A token of this client's own reservations is checked locally; any other is checked by the daemon.
    /// </summary>
    /// <param name="socket">An unbound TCP or UDP socket.</param>
    /// <param name="token">The reservation's token.</param>
    /// <param name="cancellationToken">Cancels waiting for the daemon.</param>
    /// <returns>A task that completes when the socket is associated.</returns>
    /// <exception cref="PortReservationException">InvalidArgument for a bound socket, an unknown token or a protocol mismatch; OperationNotSupported for a socket that is not TCP or UDP; AccessDenied for a token the caller may not use.</exception>
    public async ValueTask AssociateAsync(Socket socket, ulong token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        PortReservationProtocol protocol = SocketAssociation.CheckAssociable(socket);
        if (_held.TryGetValue(token, out PortReservation? reservation))
        {
            reservation.Associate(socket);
            return;
        }

        Reply reply = await _reconnector.RequestAsync(MessageType.Associate, new TokenRequest(token, protocol), cancellationToken).ConfigureAwait(false);
        ReservationGrant grant = ReadGrant(reply.ThrowIfError());
        SocketAssociation.Associate(socket, new SocketAssociation(grant.Block, owner: null, ConnectionLost));
    }

    /// <summary>
    /// Lets the processes this process starts from now on (its children, their children, and so on) bind this client's
    /// runtime reservations, as this process may; others are still refused. Call it before starting them: the daemon
    /// moves this process into a cgroup of its own (beneath the one it is in), which the processes it starts afterwards
    /// are born into. <c>portreserve run</c> does this for its command. When the daemon does not enforce exclusive binds
    /// (see <see cref="PortReserveStatus.ExclusiveBindsActive"/>) anyone may bind reserved ports, and this does nothing.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the daemon.</param>
    /// <returns>A task that completes when the processes started from now on may bind.</returns>
    /// <exception cref="PortReservationException">OperationNotSupported when the daemon cannot give this process a cgroup of its own.</exception>
    public async ValueTask ShareWithChildProcessesAsync(CancellationToken cancellationToken = default)
    {
        Reply reply = await _reconnector.RequestAsync(MessageType.ShareWithChildProcesses, default(EmptyRequest), cancellationToken).ConfigureAwait(false);
        reply.ThrowIfError();
    }

    /// <summary>Disconnects; every runtime reservation acquired through this client is released by the daemon.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        foreach (PortReservation reservation in _held.Values)
        {
            reservation.MarkReleased();
        }

        _held.Clear();
        await _reconnector.DisposeAsync().ConfigureAwait(false);
    }

    internal async ValueTask ReleaseTokenAsync(ulong token, CancellationToken cancellationToken)
    {
        if (_held.TryGetValue(token, out PortReservation? away) && _reconnector.DeferReleaseWhileAway(token))
        {
            _held.TryRemove(token, out _);
            away.MarkReleased();
            return;
        }

        Reply reply = await _reconnector.RequestAsync(MessageType.Release, new TokenRequest(token, null), cancellationToken).ConfigureAwait(false);
        reply.ThrowIfError();
        if (_held.TryRemove(token, out PortReservation? released))
        {
            released.MarkReleased();
        }
    }

    /// <summary>True once the client is disposed or gave the daemon up: nothing it held is held any more.</summary>
    internal bool IsClosed => _reconnector.IsOver;

    private static ReservationGrant ReadGrant(Reply reply)
    {
        var reader = new FrameReader(reply.Single);
        return ReservationGrant.Read(ref reader);
    }

    /// <summary>The block to send, after the same range check the daemon makes (so a bad request costs no round trip).</summary>
    private static PortBlock CheckedBlock(PortReservationProtocol protocol, int startPort, int count, bool wildcardAllowed)
    {
        var block = new PortBlock(protocol, startPort, count);
        return block.Problem(wildcardAllowed) is { } problem
            ? throw new PortReservationException(PortReservationErrorKind.InvalidArgument, problem)
            : block;
    }
}
