namespace PortReserve.Daemon;

/// <summary>
/// Another portreserved holds the state directory or the pins: a second daemon may not start, and
/// <c>--release-kernel</c> may not take away what the running one enforces (exit status 3, so that scripts such as a
/// package's removal can tell this from a failure).
/// </summary>
internal sealed class DaemonRunningException(string message) : InvalidOperationException(message)
{
    public const int ExitCode = 3;
}
