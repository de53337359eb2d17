using System.Collections.Concurrent;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// The client's connection to the daemon, kept across a daemon restart: when the connection is lost, connects again
/// with a bounded back-off for up to the reconnect timeout, and takes back each runtime reservation it held by its token
/// (a restarted daemon keeps those of live holders). A reservation the daemon no longer has is lost alone; when no
/// daemon answers in time, the client gives up and everything is lost (<see cref="GaveUp"/>). Requests made while it
/// reconnects wait for it, within their own timeout.
/// </summary>
internal sealed class Reconnector : IAsyncDisposable
{
    private const int FirstDelayMilliseconds = 50;
    private const int LongestDelayMilliseconds = 1000;

    private readonly Settings _settings;
    private readonly ConcurrentDictionary<ulong, PortReservation> _held;
    private readonly CancellationTokenSource _gaveUp = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _gate = new();
    private readonly HashSet<ulong> _releasedWhileAway = [];
    private readonly uint _serverUid;
    private volatile DaemonConnection _current;
    private Task? _reconnecting;

    public Reconnector(DaemonConnection connection, Settings settings, ConcurrentDictionary<ulong, PortReservation> held)
    {
        _settings = settings;
        _held = held;
        _current = connection;

        // Whoever serves a reconnect must be who served this connection: while the daemon is away, the socket's name is
        // free. A server whose uid the kernel would not tell is matched by none.
        _serverUid = connection.ServerUid ?? uint.MaxValue;
        Watch(connection);
    }

    /// <summary>The connection requests go to now (closed while a reconnect is under way).</summary>
    public DaemonConnection Current => _current;

    /// <summary>Fires once the client has given the daemon up; never for a dispose.</summary>
    public CancellationToken GaveUp => _gaveUp.Token;

    /// <summary>Disposed, or given up: nothing is held any more.</summary>
    public bool IsOver => _disposing.IsCancellationRequested || _gaveUp.IsCancellationRequested;

    /// <summary>
    /// Releases <paramref name="token"/> when the daemon has it; while the client reconnects, at once, and the release is
    /// sent once a daemon is back (so that a dispose never waits for one). False when it was not deferred.
    /// </summary>
    public bool DeferReleaseWhileAway(ulong token)
    {
        lock (_gate)
        {
            if (_reconnecting is null || !_current.IsClosed)
            {
                return false;
            }

            _releasedWhileAway.Add(token);
            return true;
        }
    }

    /// <summary>A request on the current connection, after the reconnect under way (if any) is done or the request's time is up.</summary>
    public async ValueTask<Reply> RequestAsync<TRequest>(MessageType type, TRequest request, CancellationToken cancellationToken)
        where TRequest : IRequestPayload
    {
        DaemonConnection connection = _current;
        Task? reconnecting;
        lock (_gate)
        {
            reconnecting = _reconnecting;
        }

        if (connection.IsClosed && reconnecting is not null)
        {
            try
            {
                await reconnecting.WaitAsync(_settings.RequestTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new PortReservationException(PortReservationErrorKind.ServiceUnavailable, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"portreserved at {connection.SocketPath} went away and has not come back within {_settings.RequestTimeout.TotalSeconds:0.###} s; the client keeps trying for {_settings.ReconnectTimeout.TotalSeconds:0.###} s in all. Check it (portreserve status, systemctl status portreserved)."));
            }

            connection = _current;
        }

        return await connection.RequestAsync(type, request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        Task? reconnecting;
        lock (_gate)
        {
            _disposing.Cancel();
            reconnecting = _reconnecting;
        }

        if (reconnecting is not null)
        {
            await reconnecting.ConfigureAwait(false);
        }

        await _current.DisposeAsync().ConfigureAwait(false);
    }

    private void Watch(DaemonConnection connection)
        => connection.Lost.UnsafeRegister(static (state, _) => ((Reconnector)state!).Lost(), this);

    private void Lost()
    {
        lock (_gate)
        {
            if (_disposing.IsCancellationRequested || _reconnecting is not null)
            {
                return;
            }

            // A daemon that turned the connection away is there, and would again: its reason is the answer.
            if (_settings.ReconnectTimeout == TimeSpan.Zero || _current.WasRefused)
            {
                GiveUp();
                return;
            }

            _reconnecting = Task.Run(ReconnectAsync);
        }
    }

    private async Task ReconnectAsync()
    {
        long deadline = Environment.TickCount64 + (long)_settings.ReconnectTimeout.TotalMilliseconds;
        int delay = FirstDelayMilliseconds;
        DaemonConnection? next = null;
        try
        {
            while ((next = await TryReconnectAsync().ConfigureAwait(false)) is null)
            {
                if (Environment.TickCount64 >= deadline)
                {
                    lock (_gate)
                    {
                        GiveUp();
                    }

                    return;
                }

                await Task.Delay(delay, _disposing.Token).ConfigureAwait(false);
                delay = Math.Min(delay * 2, LongestDelayMilliseconds);
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            // Disposed meanwhile: nothing to take back.
        }
        finally
        {
            lock (_gate)
            {
                _reconnecting = null;
            }
        }

        // Watched only now, so that a connection lost again at once starts a new reconnect.
        if (next is not null)
        {
            Watch(next);
        }
    }

    /// <summary>One attempt: connect, take every held reservation back, and make the connection current; null when it failed or broke meanwhile.</summary>
    private async Task<DaemonConnection?> TryReconnectAsync()
    {
        DaemonConnection next;
        try
        {
            next = await DaemonConnector.ConnectAsync(_settings.Candidates, _settings.TrustedServersOnly, _settings.RequestTimeout, _disposing.Token, _serverUid).ConfigureAwait(false);
        }
        catch (PortReservationException)
        {
            return null;
        }

        try
        {
            ulong[] released;
            lock (_gate)
            {
                released = [.. _releasedWhileAway];
                _releasedWhileAway.Clear();
            }

            foreach (ulong token in released)
            {
                // Released by the process that acquired it, which is what the daemon checks; gone already is fine.
                await next.RequestAsync(MessageType.Release, new TokenRequest(token, null), _disposing.Token).ConfigureAwait(false);
            }

            foreach (PortReservation reservation in _held.Values)
            {
                Reply reply = await next.RequestAsync(MessageType.Reattach, new TokenRequest(reservation.Token, null), _disposing.Token).ConfigureAwait(false);
                if (!Reattached(reply, reservation) && _held.TryRemove(reservation.Token, out _))
                {
                    // The daemon that came back does not have it (released, or not restored), or not as it was: that one is gone.
                    reservation.MarkLost();
                }
            }
        }
        catch (Exception e) when (e is PortReservationException or ObjectDisposedException or OperationCanceledException)
        {
            await next.DisposeAsync().ConfigureAwait(false);
            _disposing.Token.ThrowIfCancellationRequested();
            return null;
        }

        DaemonConnection lost;
        ulong[] releasedMeanwhile;
        lock (_gate)
        {
            if (_disposing.IsCancellationRequested)
            {
                lost = next;
                next = null!;
            }
            else
            {
                lost = _current;
                _current = next;
            }

            releasedMeanwhile = [.. _releasedWhileAway];
            _releasedWhileAway.Clear();
        }

        await lost.DisposeAsync().ConfigureAwait(false);
        _disposing.Token.ThrowIfCancellationRequested();
        foreach (ulong token in releasedMeanwhile)
        {
            try
            {
                await next.RequestAsync(MessageType.Release, new TokenRequest(token, null), _disposing.Token).ConfigureAwait(false);
            }
            catch (PortReservationException)
            {
                // The connection broke again: the daemon releases what it held with it.
            }
        }

        _disposing.Token.ThrowIfCancellationRequested();
        return next;
    }

    /// <summary>True when the daemon gave the reservation back as it was: the same token and the same block.</summary>
    private static bool Reattached(Reply reply, PortReservation reservation)
    {
        if (reply.Error is not null || reply.Payloads.Count != 1)
        {
            return false;
        }

        try
        {
            var reader = new FrameReader(reply.Payloads[0]);
            ReservationGrant grant = ReservationGrant.Read(ref reader);
            return grant.Token == reservation.Token && grant.Block == reservation.Block;
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    /// <summary>No daemon came back in time: everything this client held is gone. Call under the gate.</summary>
    private void GiveUp()
    {
        _gaveUp.Cancel();
        foreach (PortReservation reservation in _held.Values)
        {
            reservation.MarkLost();
        }

        _held.Clear();
    }

    /// <summary>Where and how the client connects, again.</summary>
    internal sealed record Settings(IReadOnlyList<string> Candidates, bool TrustedServersOnly, TimeSpan RequestTimeout, TimeSpan ReconnectTimeout);
}
