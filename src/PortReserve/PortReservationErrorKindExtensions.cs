using System.Net.Sockets;

namespace PortReserve;

/// <summary>Maps <see cref="PortReservationErrorKind"/> to the codes the Windows API reports for the same failure.</summary>
public static class PortReservationErrorKindExtensions
{
    /// <summary>The Windows <c>ERROR_NOT_FOUND</c> code, reported for <see cref="PortReservationErrorKind.NotFound"/>, which has no Windows Sockets code.</summary>
    public const int ErrorNotFound = 1168;

    /// <summary>The <see cref="SocketError"/> the Windows API gives for this kind of failure.</summary>
    /// <param name="kind">The error kind.</param>
    /// <returns>The Windows Sockets code; <see cref="ErrorNotFound"/> (as a <see cref="SocketError"/>) for <see cref="PortReservationErrorKind.NotFound"/>.</returns>
    public static SocketError ToSocketError(this PortReservationErrorKind kind) => kind switch
    {
        PortReservationErrorKind.InvalidArgument => SocketError.InvalidArgument,
        PortReservationErrorKind.AccessDenied => SocketError.AccessDenied,
        PortReservationErrorKind.AddressAlreadyInUse => SocketError.AddressAlreadyInUse,
        PortReservationErrorKind.NoBufferSpaceAvailable => SocketError.NoBufferSpaceAvailable,
        PortReservationErrorKind.NotFound => (SocketError)ErrorNotFound,
        PortReservationErrorKind.OperationNotSupported => SocketError.OperationNotSupported,
        PortReservationErrorKind.ServiceUnavailable => SocketError.NetworkDown,
        PortReservationErrorKind.Aborted => SocketError.OperationAborted,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
