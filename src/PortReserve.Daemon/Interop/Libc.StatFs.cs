using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Whether <paramref name="path"/> lies on a bpf filesystem (false when it does not exist).</summary>
    public static unsafe bool IsBpfFileSystem(string path)
    {
        // struct statfs: f_type is its first field on 64-bit ABIs.
        byte* buffer = stackalloc byte[120];
        return StatFs(path, buffer) == 0 && *(long*)buffer == BPF_FS_MAGIC;
    }

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatFs(string path, byte* buffer);
}
