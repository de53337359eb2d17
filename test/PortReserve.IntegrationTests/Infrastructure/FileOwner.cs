using System.Runtime.InteropServices;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>Gives a file or directory (or a link itself) to another uid, as root can.</summary>
internal static partial class FileOwner
{
    public static void Set(string path, uint uid, uint? gid = null, bool followLink = true)
    {
        int result = followLink ? Chown(path, uid, gid ?? uid) : LChown(path, uid, gid ?? uid);
        if (result != 0)
        {
            throw new IOException($"chown {uid} {path}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LChown(string path, uint uid, uint gid);
}
