using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>mkdir(2): creates exactly this directory, and fails (rather than succeeds) when something is there already.</summary>
    public static void MakeDirectory(string path, UnixFileMode mode)
    {
        if (MkDir(path, (uint)mode) != 0)
        {
            throw new IOException($"cannot create {path}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkDir(string path, uint mode);
}
