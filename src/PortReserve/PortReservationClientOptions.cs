namespace PortReserve;

/// <summary>How <see cref="PortReservationClient"/> finds the daemon.</summary>
public sealed class PortReservationClientOptions
{
    /// <summary>
    /// The daemon's socket. When null: <c>$PORTRESERVE_SOCKET</c> if set, otherwise the system socket
    /// <c>/run/portreserve/portreserved.sock</c>, then the per-user one under <c>$XDG_RUNTIME_DIR</c>.
    /// </summary>
    public string? SocketPath { get; set; }
}
