using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>poll(2) on one descriptor.</summary>
internal static partial class Libc
{
    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: for ever) for one of <paramref name="events"/> on the
    /// descriptor, which stays open meanwhile; the events that happened (POLLERR and POLLHUP always count), 0 on timeout,
    /// or -1 with errno.
    /// </summary>
    public static unsafe int Poll(SafeHandle handle, short events, int timeoutMilliseconds)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // struct pollfd: int fd, short events, short revents.
            byte* pollfd = stackalloc byte[8];
            *(int*)pollfd = (int)handle.DangerousGetHandle();
            *(short*)(pollfd + 4) = events;
            *(short*)(pollfd + 6) = 0;
            int ready = Poll(pollfd, 1, timeoutMilliseconds);
            return ready <= 0 ? ready : *(short*)(pollfd + 6);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(byte* fds, nuint count, int timeout);
}
