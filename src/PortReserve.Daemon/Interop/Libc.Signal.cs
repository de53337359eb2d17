using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    public const int SIGHUP = 1;

    /// <summary>Sets a signal's disposition to a plain handler value (0 is SIG_DFL); returns the previous one.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    public static partial nint Signal(int signal, nint handler);
}
