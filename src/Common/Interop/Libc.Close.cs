using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Closes a descriptor this process holds outside any SafeHandle.</summary>
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
