using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    public static unsafe partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
