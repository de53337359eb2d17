namespace PortReserve;

/// <summary>Why a port reservation operation failed. The numeric values are carried on the wire.</summary>
public enum PortReservationErrorKind
{
    /// <summary>Bad range, zero or unknown token, bound socket, or port outside the block (<c>WSAEINVAL</c>).</summary>
    InvalidArgument = 1,

    /// <summary>The caller may not use this reservation or operation (<c>WSAEACCES</c>).</summary>
    AccessDenied = 2,

    /// <summary>The block overlaps another reservation, a port is in use, or every port of the block is taken (<c>WSAEADDRINUSE</c>).</summary>
    AddressAlreadyInUse = 3,

    /// <summary>No free block for a wildcard request, or a quota was exceeded (<c>WSAENOBUFS</c>).</summary>
    NoBufferSpaceAvailable = 4,

    /// <summary>No persistent reservation matches exactly (<c>ERROR_NOT_FOUND</c>).</summary>
    NotFound = 5,

    /// <summary>The socket is not TCP or UDP, or the operation is not supported here (<c>WSAEOPNOTSUPP</c>).</summary>
    OperationNotSupported = 6,

    /// <summary>The daemon is not running or cannot be reached (<c>WSAENETDOWN</c>).</summary>
    ServiceUnavailable = 7,

    /// <summary>The connection to the daemon was lost while a call was pending, or a runtime reservation was lost with it (<c>WSA_OPERATION_ABORTED</c>).</summary>
    Aborted = 8,
}
