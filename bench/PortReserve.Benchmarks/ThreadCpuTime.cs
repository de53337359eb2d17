using System.Runtime.InteropServices;

namespace PortReserve.Benchmarks;

/// <summary>
/// CPU time of the calling thread (clock_gettime CLOCK_THREAD_CPUTIME_ID): what an operation costs the thread in user
/// and kernel mode, without the time it spent descheduled, which on a shared machine is most of the noise.
/// </summary>
internal static partial class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    public static TimeSpan Now()
    {
        Span<long> timespec = stackalloc long[2];
        return ClockGetTime(ClockThreadCpuTimeId, ref MemoryMarshal.GetReference(timespec)) == 0
            ? TimeSpan.FromTicks((timespec[0] * TimeSpan.TicksPerSecond) + (timespec[1] / 100))
            : throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    }

    /// <summary>Microseconds of this thread's CPU per call of <paramref name="operation"/>, over <paramref name="count"/> calls after a warm-up.</summary>
    public static double PerCall(int count, Action operation)
    {
        for (int i = 0; i < Math.Min(count, 2000); i++)
        {
            operation();
        }

        TimeSpan start = Now();
        for (int i = 0; i < count; i++)
        {
            operation();
        }

        return (Now() - start).TotalMicroseconds / count;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, ref long timespec);
}
