using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Removes the entry <paramref name="name"/> of <paramref name="directory"/>; false when there is none.</summary>
    public static bool UnlinkAt(SafeFileHandle directory, string name)
    {
        if (UnlinkAt(directory, name, 0) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == ENOENT ? false : throw new IOException($"cannot remove {name}: {Describe(errno)}");
    }

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAt(SafeFileHandle directory, string name, int flags);
}
