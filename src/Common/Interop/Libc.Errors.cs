using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>The errno values the callers tell apart (the same on every Linux architecture), and how a person reads one.</summary>
internal static partial class Libc
{
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EPIPE = 32;
    public const int ERANGE = 34;
    public const int ELOOP = 40;
    public const int EADDRINUSE = 98;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOTCONN = 107;

    /// <summary>An errno as a person reads it: "Operation not permitted (errno 1)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
