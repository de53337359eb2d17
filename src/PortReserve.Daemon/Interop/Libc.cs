using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>The few libc calls the daemon makes directly, where the managed Socket API would cost an exception per answer.</summary>
internal static partial class Libc
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_RAW = 3;
    public const int AF_NETLINK = 16;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int EADDRINUSE = 98;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const int StatxType = 1;
    private const int StatxIno = 0x100;
    private const int StatxInoOffset = 32;
    private const int FileTypeMask = 0xF000;
    private const int SocketFileType = 0xC000;

    /// <summary>True when <paramref name="path"/> itself (not a link target) is a socket. statx has one layout on every architecture.</summary>
    public static unsafe bool IsSocket(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            return false;
        }

        ushort mode = *(ushort*)(buffer + 28);
        return (mode & FileTypeMask) == SocketFileType;
    }

    /// <summary>An errno as a person reads it: "Operation not permitted (errno 1)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    /// <summary>The inode number of <paramref name="path"/> (for a cgroup directory, the cgroup's id).</summary>
    public static unsafe ulong InodeOf(string path)
    {
        byte* buffer = stackalloc byte[256];
        return Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxIno, buffer) == 0
            ? *(ulong*)(buffer + StatxInoOffset)
            : throw new IOException($"cannot stat {path}: {Describe(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>A directory opened read-only as a descriptor (what bpf links attach cgroup programs to).</summary>
    public static SafeFileHandle OpenDirectory(string path)
    {
        SafeFileHandle handle = Open(path, O_RDONLY | ODirectory | O_CLOEXEC);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"cannot open {path}: {Describe(errno)}");
        }

        return handle;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial SafeFileHandle Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static unsafe partial int SetSockOpt(SafeFileHandle socket, int level, int name, int* value, int length);

    public static unsafe nint Send(SafeFileHandle socket, ReadOnlySpan<byte> message)
    {
        fixed (byte* pointer = message)
        {
            return SendRaw(socket, pointer, (nuint)message.Length, 0);
        }
    }

    public static unsafe int Receive(SafeFileHandle socket, Span<byte> buffer)
    {
        fixed (byte* pointer = buffer)
        {
            return (int)ReceiveRaw(socket, pointer, (nuint)buffer.Length, 0);
        }
    }

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendRaw(SafeFileHandle socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint ReceiveRaw(SafeFileHandle socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static unsafe partial int Bind(SafeFileHandle socket, byte* address, int length);
}
