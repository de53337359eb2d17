using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

/// <summary>epoll_ctl(2), and struct epoll_event, which x86-64 packs into 12 bytes and every other ABI pads to 16.</summary>
internal static partial class Libc
{
    public const int EPOLLIN = 0x001;
    public const int EPOLLOUT = 0x004;
    public const int EPOLLERR = 0x008;
    public const int EPOLLHUP = 0x010;
    public const int EPOLLRDHUP = 0x2000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    /// <summary>The size of struct epoll_event here: the events mask (4 bytes), then the 8-byte data, packed on x86-64 only.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>Where the data field starts in struct epoll_event.</summary>
    public static readonly int EpollEventDataOffset = EpollEventSize - 8;

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static unsafe partial int EpollCtl(SafeFileHandle epoll, int operation, SafeHandle target, byte* epollEvent);
}
