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

    private TimeSpan _requestTimeout = DefaultRequestTimeout;

    /// <summary>The default <see cref="RequestTimeout"/>.</summary>
    public static TimeSpan DefaultRequestTimeout { get; } = TimeSpan.FromSeconds(30);
}
