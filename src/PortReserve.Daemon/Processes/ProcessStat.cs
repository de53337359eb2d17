using System.Globalization;

namespace PortReserve.Daemon.Processes;

/// <summary>
/// What /proc/PID/stat says of a process. Read by pid number, so a caller that must know it read the right process
/// checks afterwards that a pidfd it opened earlier still holds that pid.
/// </summary>
internal static class ProcessStat
{
    /// <summary>PF_KTHREAD in the stat line's flags field: a kernel thread.</summary>
    private const uint KernelThreadFlag = 0x00200000;

    /// <summary>True for a kernel thread, false for a user process, null when the process is gone (or unreadable).</summary>
    public static bool? IsKernelThread(int pid)
    {
        string line;
        try
        {
            line = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ...": COMM may hold spaces and parentheses, so count from the last ')'.
        string[] fields = line[(line.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 6 && uint.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out uint flags)
            ? (flags & KernelThreadFlag) != 0
            : null;
    }
}
