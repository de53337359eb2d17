using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    private const int PATH_MAX = 4096;

    /// <summary>The canonical absolute path of an existing <paramref name="path"/>: every link resolved, no "." or "..".</summary>
    public static unsafe string RealPath(string path)
    {
        byte* resolved = stackalloc byte[PATH_MAX];
        return RealPath(path, resolved) is not 0
            ? Marshal.PtrToStringUTF8((nint)resolved)!
            : throw new IOException($"cannot resolve {path}: {Describe(Marshal.GetLastPInvokeError())}");
    }

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint RealPath(string path, byte* resolved);
}
