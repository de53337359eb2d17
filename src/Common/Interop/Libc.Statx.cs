using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>statx(2), whose struct has one layout on every architecture, and what the callers read of it.</summary>
internal static partial class Libc
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint STATX_TYPE = 0x1;
    public const uint STATX_MODE = 0x2;
    public const uint STATX_UID = 0x8;
    public const uint STATX_INO = 0x100;

    /// <summary>The owner, mode (type bits included), inode and device numbers of a file, as statx tells them.</summary>
    internal readonly record struct FileStatus(uint Uid, uint Mode, ulong Inode, uint DeviceMajor, uint DeviceMinor)
    {
        public bool IsDirectory => (Mode & 0xF000) == 0x4000;

        public bool IsRegularFile => (Mode & 0xF000) == 0x8000;

        public bool IsSymbolicLink => (Mode & 0xF000) == 0xA000;

        public bool IsSocket => (Mode & 0xF000) == 0xC000;

        public bool IsCharacterDevice => (Mode & 0xF000) == 0x2000;

        /// <summary>The permission bits, with setuid, setgid and sticky.</summary>
        public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);
    }

    /// <summary>The status of <paramref name="path"/> itself (lstat), or null when nothing is there.</summary>
    public static FileStatus? StatNoFollow(string path)
    {
        if (TryStatx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_UID | STATX_MODE | STATX_TYPE, out FileStatus status))
        {
            return status;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == ENOENT ? null : throw new IOException($"cannot stat {path}: {Describe(errno)}");
    }

    /// <summary>The status of what <paramref name="file"/> is open on, whatever has been renamed since it was opened.</summary>
    public static FileStatus StatOf(SafeFileHandle file, uint mask = STATX_UID | STATX_MODE | STATX_TYPE)
        => TryStatOf(file, mask, out FileStatus status)
            ? status
            : throw new IOException($"cannot stat an open file: {Describe(Marshal.GetLastPInvokeError())}");

    /// <summary>statx of what <paramref name="file"/> is open on (AT_EMPTY_PATH); false with errno set when it fails.</summary>
    public static unsafe bool TryStatOf(SafeFileHandle file, uint mask, out FileStatus status)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(file, string.Empty, AT_EMPTY_PATH, mask, buffer) != 0)
        {
            status = default;
            return false;
        }

        status = Read(buffer);
        return true;
    }

    /// <summary>True when <paramref name="path"/> itself (not a link target) is a socket.</summary>
    public static bool IsSocket(string path)
        => TryStatx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, out FileStatus status) && status.IsSocket;

    /// <summary>The inode number of <paramref name="path"/> (for a cgroup directory, the cgroup's id).</summary>
    public static ulong InodeOf(string path)
        => TryStatx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_INO, out FileStatus status)
            ? status.Inode
            : throw new IOException($"cannot stat {path}: {Describe(Marshal.GetLastPInvokeError())}");

    /// <summary>statx of a path into <paramref name="status"/>; false with errno set when it fails.</summary>
    private static unsafe bool TryStatx(int directoryFd, string path, int flags, uint mask, out FileStatus status)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(directoryFd, path, flags, mask, buffer) != 0)
        {
            status = default;
            return false;
        }

        status = Read(buffer);
        return true;
    }

    /// <summary>struct statx: stx_uid at 20, stx_mode at 28, stx_ino at 32, stx_rdev_major and _minor at 128 and 132.</summary>
    private static unsafe FileStatus Read(byte* buffer)
        => new(*(uint*)(buffer + 20), *(ushort*)(buffer + 28), *(ulong*)(buffer + 32), *(uint*)(buffer + 128), *(uint*)(buffer + 132));

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    /// <summary>statx relative to an open descriptor, which the marshaller keeps open for the call.</summary>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(SafeFileHandle directory, string path, int flags, uint mask, byte* buffer);
}
