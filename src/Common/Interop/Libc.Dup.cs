using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>A duplicate of <paramref name="fd"/> at the lowest free descriptor (close-on-exec is not copied); -1 with errno.</summary>
    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);
}
