using System.Runtime.InteropServices;

namespace PortReserve.Daemon.Interop;

/// <summary>getrlimit and setrlimit for the open file limit.</summary>
internal static partial class Libc
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft open file limit to the hard one; returns the soft limit in force afterwards.</summary>
    public static unsafe long RaiseOpenFileLimit()
    {
        ulong* limits = stackalloc ulong[2];
        if (GetRLimit(RLIMIT_NOFILE, limits) != 0)
        {
            return 1024;
        }

        if (limits[0] < limits[1] && SetRLimit(RLIMIT_NOFILE, [limits[1], limits[1]]) == 0)
        {
            limits[0] = limits[1];
        }

        return (long)Math.Min(limits[0], int.MaxValue);
    }

    private static unsafe int SetRLimit(int resource, ReadOnlySpan<ulong> limits)
    {
        fixed (ulong* pointer = limits)
        {
            return SetRLimit(resource, pointer);
        }
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static unsafe partial int GetRLimit(int resource, ulong* limits);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static unsafe partial int SetRLimit(int resource, ulong* limits);
}
