using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>bind(2) to a sockaddr laid out by the caller; -1 with errno (EADDRINUSE, EACCES from a bind hook).</summary>
    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static unsafe partial int Bind(SafeFileHandle socket, byte* address, int length);
}
