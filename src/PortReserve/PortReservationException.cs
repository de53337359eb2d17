using System.Net.Sockets;

namespace PortReserve;

/// <summary>
/// A port reservation operation failed. <see cref="Kind"/> says why; <see cref="SocketException.SocketErrorCode"/>
/// carries the Windows Sockets code the Windows port reservation API gives for the same failure.
/// </summary>
public sealed class PortReservationException : SocketException
{
    private readonly string _message;

    /// <summary>Creates an exception of the given kind.</summary>
    /// <param name="kind">Why the operation failed.</param>
    /// <param name="message">What happened and what to do about it.</param>
    /// <param name="innerException">The underlying cause, if any.</param>
    public PortReservationException(PortReservationErrorKind kind, string message, Exception? innerException = null)
        : base((int)kind.ToSocketError(), message)
    {
        Kind = kind;
        _message = message;

        // SocketException has no constructor that takes an inner exception (and its serialization constructor would lose
        // the error code), so the cause has its own property; ToString and GetBaseException chain through it as they do
        // through InnerException, so loggers and tools that unwrap exceptions show it.
        Cause = innerException;
    }

    /// <summary>Why the operation failed.</summary>
    public PortReservationErrorKind Kind { get; }

    /// <summary>The underlying cause (for example the <see cref="SocketException"/> of a failed connect), if any.</summary>
    public Exception? Cause { get; }

    /// <inheritdoc />
    public override string Message => _message;

    /// <summary>The innermost cause: the cause's own base exception, or this exception when there is no cause.</summary>
    /// <returns>The exception at the root of the chain.</returns>
    public override Exception GetBaseException() => Cause?.GetBaseException() ?? this;

    /// <summary>This exception, then its cause as an inner exception is shown.</summary>
    /// <returns>The exception, its cause and their stack traces.</returns>
    public override string ToString()
        => Cause is null ? base.ToString() : $"{base.ToString()}{Environment.NewLine} ---> {Cause}{Environment.NewLine}   --- End of inner exception stack trace ---";
}
