using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Waits for events into <paramref name="events"/>, <see cref="EpollEventSize"/> bytes each; -1 with errno (EINTR).</summary>
    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int EpollWait(SafeFileHandle epoll, byte* events, int maxEvents, int timeoutMilliseconds);
}
