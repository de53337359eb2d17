using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>
/// File calls a root process needs to stay on the objects it checked: stat without following links, open refusing a
/// link, chmod refusing a link, flock, and the canonical path of a directory.
/// </summary>
internal static partial class Libc
{
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;

    // O_DIRECTORY and O_NOFOLLOW are the two open flags whose values differ between x86 and the arm architectures.
    private static readonly bool s_armFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;
    private static int ODirectory => s_armFlags ? 0x4000 : 0x10000;
    private static int ONoFollow => s_armFlags ? 0x8000 : 0x20000;
    private const int O_CLOEXEC = 0x80000;
    private const int ENOENT = 2;
    private const int ELOOP = 40;
    private const int EWOULDBLOCK = 11;
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;
    private const int PathMax = 4096;
    private const uint StatxUidMode = 0x2 | 0x8;

    /// <summary>The owner and mode (type bits included) of a path itself, never of a link's target.</summary>
    internal readonly record struct FileStatus(uint Uid, uint Mode)
    {
        public bool IsDirectory => (Mode & 0xF000) == 0x4000;

        public bool IsRegularFile => (Mode & 0xF000) == 0x8000;

        public bool IsSymbolicLink => (Mode & 0xF000) == 0xA000;

        /// <summary>The permission bits, with setuid, setgid and sticky.</summary>
        public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);
    }

    /// <summary>The status of <paramref name="path"/> itself (lstat), or null when nothing is there.</summary>
    public static unsafe FileStatus? StatNoFollow(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxUidMode | StatxType, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno == ENOENT ? null : throw new IOException($"cannot stat {path}: {Describe(errno)}");
        }

        return new FileStatus(*(uint*)(buffer + 20), *(ushort*)(buffer + 28));
    }

    /// <summary>The status of what <paramref name="file"/> is open on, whatever has been renamed since it was opened.</summary>
    public static unsafe FileStatus StatOf(SafeFileHandle file)
    {
        byte* buffer = stackalloc byte[256];
        return Statx((int)file.DangerousGetHandle(), string.Empty, AtEmptyPath, StatxUidMode | StatxType, buffer) == 0
            ? new FileStatus(*(uint*)(buffer + 20), *(ushort*)(buffer + 28))
            : throw new IOException($"cannot stat an open file: {Describe(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>The canonical absolute path of an existing <paramref name="path"/>: every link resolved, no "." or "..".</summary>
    public static unsafe string RealPath(string path)
    {
        byte* resolved = stackalloc byte[PathMax];
        return RealPathRaw(path, resolved) is not 0
            ? Marshal.PtrToStringUTF8((nint)resolved)!
            : throw new IOException($"cannot resolve {path}: {Describe(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>
    /// Opens <paramref name="path"/> (O_CLOEXEC) unless its last component is a symbolic link, which a root process must
    /// never write through: whoever planted it would choose the file.
    /// </summary>
    public static SafeFileHandle OpenNoFollow(string path, int flags, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        SafeFileHandle handle = Open(path, flags | ONoFollow | O_CLOEXEC, (int)mode);
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

    /// <summary>Takes an exclusive flock without waiting; false when another process holds one.</summary>
    public static bool TryLockExclusive(SafeFileHandle file)
    {
        if (Flock(file, LOCK_EX | LOCK_NB) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == EWOULDBLOCK ? false : throw new IOException($"cannot lock: {Describe(errno)}");
    }

    /// <summary>Sets the mode of <paramref name="path"/> itself; a link there is refused, not followed.</summary>
    public static void ChmodNoFollow(string path, UnixFileMode mode)
    {
        if (FchmodAt(AtFdCwd, path, (uint)mode, AtSymlinkNoFollow) != 0)
        {
            throw new IOException($"cannot set the mode of {path}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>mkdir(2): creates exactly this directory, and fails (rather than succeeds) when something is there already.</summary>
    public static void MakeDirectory(string path, UnixFileMode mode)
    {
        if (MkDir(path, (uint)mode) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot create {path}: {Describe(errno)}");
        }
    }

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkDir(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint RealPathRaw(string path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle file, int operation);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FchmodAt(int directoryFd, string path, uint mode, int flags);
}
