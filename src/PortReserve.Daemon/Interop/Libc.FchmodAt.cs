using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Sets the mode of <paramref name="path"/> itself; a link there is refused, not followed.</summary>
    public static void ChmodNoFollow(string path, UnixFileMode mode)
    {
        if (FchmodAt(AT_FDCWD, path, (uint)mode, AT_SYMLINK_NOFOLLOW) != 0)
        {
            throw new IOException($"cannot set the mode of {path}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FchmodAt(int directoryFd, string path, uint mode, int flags);
}
