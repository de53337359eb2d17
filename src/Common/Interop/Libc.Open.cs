using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>open(2), and its flags.</summary>
internal static partial class Libc
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_TRUNC = 0x200;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    // O_DIRECTORY and O_NOFOLLOW are the two open flags whose values differ between x86 and the arm architectures.
    private static readonly bool s_armFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;

    public static int O_DIRECTORY => s_armFlags ? 0x4000 : 0x10000;

    public static int O_NOFOLLOW => s_armFlags ? 0x8000 : 0x20000;

    /// <summary>
    /// Opens <paramref name="path"/>; <paramref name="mode"/> counts only with O_CREAT. The handle is invalid on failure,
    /// with errno in <see cref="Marshal.GetLastPInvokeError"/>.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial SafeFileHandle Open(string path, int flags, uint mode);

    /// <summary>Opens <paramref name="path"/> or throws, naming it and the errno.</summary>
    public static SafeFileHandle OpenOrThrow(string path, int flags)
    {
        SafeFileHandle handle = Open(path, flags, 0);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"cannot open {path}: {Describe(errno)}");
        }

        return handle;
    }

    /// <summary>
    /// Opens <paramref name="path"/> (O_CLOEXEC) unless its last component is a symbolic link, which a root process must
    /// never write through: whoever planted it would choose the file.
    /// </summary>
    public static SafeFileHandle OpenNoFollow(string path, int flags, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        SafeFileHandle handle = Open(path, flags | O_NOFOLLOW | O_CLOEXEC, (uint)mode);
        if (!handle.IsInvalid)
        {
            return handle;
        }

        int errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        throw errno switch
        {
            ENOENT => new FileNotFoundException($"{path} does not exist", path),
            ELOOP => new IOException($"{path} is a symbolic link; portreserved does not write through links. Remove it"),
            _ => new IOException($"cannot open {path}: {Describe(errno)}"),
        };
    }

    /// <summary>A directory opened read-only as a descriptor (what bpf links attach cgroup programs to).</summary>
    public static SafeFileHandle OpenDirectory(string path) => OpenOrThrow(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    /// <summary>Opens a directory, refusing a link in its place, and checks that it is on a bpf filesystem.</summary>
    public static SafeFileHandle OpenBpfDirectory(string path)
    {
        SafeFileHandle handle = OpenOrThrow(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (FileSystemType(handle) != BPF_FS_MAGIC)
        {
            handle.Dispose();
            throw new IOException($"{path} is not on a bpf filesystem");
        }

        return handle;
    }
}
