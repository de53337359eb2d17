namespace PortReserve;

/// <summary>How <see cref="PortReservationClient"/> finds the daemon.</summary>
public sealed class PortReservationClientOptions
{
    /// <summary>
    /// The daemon's socket. When null: <c>$PORTRESERVE_SOCKET</c> if set, otherwise the system socket
    /// <c>/run/portreserve/portreserved.sock</c>, then the per-user one under <c>$XDG_RUNTIME_DIR</c>.
    /// </summary>
    public string? SocketPath { get; set; }

    /// <summary>
    /// How long a call waits for the daemon's answer before it fails with
    /// <see cref="PortReservationErrorKind.ServiceUnavailable"/> (a daemon that is stopped or hung); 30 seconds by
    /// default. <see cref="Timeout.InfiniteTimeSpan"/> waits for as long as the caller's cancellation token allows.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero or a negative time other than <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan RequestTimeout
    {
        get => _requestTimeout;
        set => _requestTimeout = value > TimeSpan.Zero || value == Timeout.InfiniteTimeSpan
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "a request timeout must be positive, or Timeout.InfiniteTimeSpan");
    }

    /// <summary>
    /// How long the client keeps trying to reconnect when the daemon goes away (a crash, a restart, an upgrade) before
    /// it gives its runtime reservations up; 60 seconds by default. A restarted daemon keeps the reservations of live
    /// holders, and the client takes each back by its token on reconnecting: only those it could not take back are lost.
    /// <see cref="TimeSpan.Zero"/> gives them up at once, as soon as the connection is lost.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative time.</exception>
    public TimeSpan ReconnectTimeout
    {
        get => _reconnectTimeout;
        set => _reconnectTimeout = value >= TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "a reconnect timeout must be zero or positive");
    }

    private TimeSpan _requestTimeout = DefaultRequestTimeout;
    private TimeSpan _reconnectTimeout = DefaultReconnectTimeout;

    /// <summary>The default <see cref="RequestTimeout"/>.</summary>
    public static TimeSpan DefaultRequestTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="ReconnectTimeout"/>.</summary>
    public static TimeSpan DefaultReconnectTimeout { get; } = TimeSpan.FromSeconds(60);
}
