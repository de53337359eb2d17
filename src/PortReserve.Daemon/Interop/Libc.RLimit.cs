using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>getrlimit(2) and setrlimit(2), for the open file limit.</summary>
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

        if (limits[0] < limits[1])
        {
            ulong* raised = stackalloc ulong[2] { limits[1], limits[1] };
            if (SetRLimit(RLIMIT_NOFILE, raised) == 0)
            {
                limits[0] = limits[1];
            }
        }

        return (long)Math.Min(limits[0], int.MaxValue);
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static unsafe partial int GetRLimit(int resource, ulong* limits);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static unsafe partial int SetRLimit(int resource, ulong* limits);
}
