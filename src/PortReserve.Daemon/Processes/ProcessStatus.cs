using System.Globalization;

namespace PortReserve.Daemon.Processes;

/// <summary>
/// The ids /proc/PID/status gives a process. Read by pid number, so a caller that must know it read the right process
/// checks afterwards that a pidfd it opened earlier still holds that pid.
/// </summary>
internal static class ProcessStatus
{
    /// <summary>
    /// The real uid and gid (null where its line is missing) and the supplementary groups; null when the process is gone.
    /// "Uid:" and "Gid:" list the real, effective, saved and file system ids: the real one, first, counts.
    /// </summary>
    public static (uint? Uid, uint? Gid, uint[] Groups)? ReadIds(int pid)
    {
        uint? uid = null, gid = null;
        uint[] groups = [];
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    uid ??= First(line);
                }
                else if (line.StartsWith("Gid:", StringComparison.Ordinal))
                {
                    gid ??= First(line);
                }
                else if (line.StartsWith("Groups:", StringComparison.Ordinal))
                {
                    groups = [.. Fields(line).Select(Id).OfType<uint>()];
                }
            }
        }
        catch (IOException)
        {
            return null;
        }

        return (uid, gid, groups);

        static uint? First(string line) => Fields(line) is [var first, ..] ? Id(first) : null;
    }

    private static string[] Fields(string line) => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);

    private static uint? Id(string field) => uint.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) ? id : null;
}
