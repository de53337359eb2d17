namespace PortReserve.Cli;

/// <summary>The command-line contract's exit statuses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int ServiceUnavailable = 3;
    public const int AccessDenied = 4;
    public const int AddressAlreadyInUse = 5;
    public const int NotFound = 6;
    public const int NoBufferSpaceAvailable = 7;
    public const int InvalidArgument = 8;

    public static int For(PortReservationErrorKind kind) => kind switch
    {
        PortReservationErrorKind.ServiceUnavailable => ServiceUnavailable,
        PortReservationErrorKind.AccessDenied => AccessDenied,
        PortReservationErrorKind.AddressAlreadyInUse => AddressAlreadyInUse,
        PortReservationErrorKind.NotFound => NotFound,
        PortReservationErrorKind.NoBufferSpaceAvailable => NoBufferSpaceAvailable,
        PortReservationErrorKind.InvalidArgument => InvalidArgument,
        _ => Failure,
    };
}
