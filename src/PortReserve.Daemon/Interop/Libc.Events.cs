using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>epoll, eventfd and the non-blocking socket calls an event loop makes.</summary>
internal static partial class Libc
{
    public const int EAGAIN = 11;
    public const int ECONNABORTED = 103;
    public const int EPOLLIN = 0x001;
    public const int EPOLLOUT = 0x004;
    public const int EPOLLERR = 0x008;
    public const int EPOLLHUP = 0x010;
    public const int EPOLLRDHUP = 0x2000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int SOCK_NONBLOCK = 0x800;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;

    /// <summary>x86-64 packs struct epoll_event into 12 bytes; every other ABI pads it to 16.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial SafeFileHandle EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static unsafe partial int EpollCtl(SafeFileHandle epoll, int operation, SafeHandle target, byte* epollEvent);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int EpollWait(SafeFileHandle epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial SafeFileHandle EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(SafeFileHandle fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(SafeFileHandle fd, byte* buffer, nuint count);

    /// <summary>Accepts a pending connection as a non-blocking, close-on-exec descriptor; -1 with errno EAGAIN when none is pending.</summary>
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static unsafe partial int Accept(SafeHandle listener, byte* address, int* addressLength, int flags);

    /// <summary>recv(2) with <paramref name="flags"/>: the message's length, 0 at end of stream, -1 with errno.</summary>
    public static unsafe nint Receive(SafeHandle socket, Span<byte> buffer, int flags)
    {
        fixed (byte* pointer = buffer)
        {
            return ReceiveWithFlags(socket, pointer, (nuint)buffer.Length, flags);
        }
    }

    /// <summary>send(2) with <paramref name="flags"/>: the bytes sent (a SEQPACKET message goes whole or not at all), -1 with errno.</summary>
    public static unsafe nint Send(SafeHandle socket, ReadOnlySpan<byte> message, int flags)
    {
        fixed (byte* pointer = message)
        {
            return SendWithFlags(socket, pointer, (nuint)message.Length, flags);
        }
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint ReceiveWithFlags(SafeHandle socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendWithFlags(SafeHandle socket, byte* buffer, nuint length, int flags);
}
