using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>fstatfs(2), for the one field the callers read: the file system's type (f_type, the first field on 64-bit ABIs).</summary>
internal static partial class Libc
{
    public const long BPF_FS_MAGIC = 0xcafe4a11;
    public const long PIDFS_MAGIC = 0x50494446;

    /// <summary>The type (magic number) of the file system <paramref name="file"/> is on; null when it cannot be told.</summary>
    public static unsafe long? FileSystemType(SafeFileHandle file)
    {
        byte* buffer = stackalloc byte[120];
        return FStatFs(file, buffer) == 0 ? *(long*)buffer : null;
    }

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int FStatFs(SafeFileHandle file, byte* buffer);
}
