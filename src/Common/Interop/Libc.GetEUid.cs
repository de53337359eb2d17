using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>The effective uid of this process (never fails).</summary>
    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEUid();
}
