using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The cgroup v2 hierarchy, wherever it is mounted (<c>/sys/fs/cgroup</c> on unified systems,
/// <c>/sys/fs/cgroup/unified</c> on hybrid ones): found in mountinfo by its filesystem type, never by a fixed path. A
/// cgroup's id (what <c>bpf_get_current_cgroup_id</c> returns) is the inode number of its directory.
/// </summary>
internal sealed class CgroupHierarchy(string root)
{
    public string Root { get; } = root;

    /// <summary>The mounted cgroup v2 hierarchy, or null (with why) when there is none.</summary>
    public static CgroupHierarchy? Find(out string? missing)
    {
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "36 25 0:30 / /sys/fs/cgroup/unified rw,... - cgroup2 cgroup2 rw": the type follows the " - " separator.
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            string[] fields = line.Split(' ');
            if (separator > 0 && line[(separator + 3)..].StartsWith("cgroup2 ", StringComparison.Ordinal) && fields.Length > 4 && fields[3] == "/")
            {
                missing = null;
                return new CgroupHierarchy(Unescape(fields[4]));
            }
        }

        missing = "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo lists no cgroup2 filesystem)";
        return null;
    }

    /// <summary>The root of the hierarchy opened as a directory descriptor, for attaching programs to it.</summary>
    public SafeFileHandle OpenRoot() => Interop.Libc.OpenDirectory(Root);

    /// <summary>The cgroup directory <paramref name="pid"/> is in, from /proc/PID/cgroup ("0::/path").</summary>
    public string CgroupOf(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cgroup"))
        {
            if (line.StartsWith("0::", StringComparison.Ordinal))
            {
                return Path.Join(Root, line[3..]);
            }
        }

        throw new IOException($"process {pid} is in no cgroup of the v2 hierarchy");
    }

    /// <summary>The id of the cgroup at <paramref name="directory"/>.</summary>
    public static ulong IdOf(string directory) => Interop.Libc.InodeOf(directory);

    /// <summary>Creates a cgroup beneath <paramref name="parent"/> and returns its directory.</summary>
    public static string Create(string parent, string name)
    {
        string directory = Path.Join(parent, name);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Moves a process (all its threads) into <paramref name="cgroup"/>.</summary>
    public static void Move(int pid, string cgroup) => File.WriteAllText(Path.Join(cgroup, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Removes a cgroup the daemon made, first moving any process still in it back to its parent (the cgroup it came from).</summary>
    public static void Remove(string cgroup)
    {
        string parent = Path.GetDirectoryName(cgroup) ?? throw new ArgumentException("not a cgroup directory", nameof(cgroup));
        foreach (string pid in File.ReadAllLines(Path.Join(cgroup, "cgroup.procs")))
        {
            TryMove(pid, parent);
        }

        Directory.Delete(cgroup);
    }

    private static void TryMove(string pid, string parent)
    {
        try
        {
            File.WriteAllText(Path.Join(parent, "cgroup.procs"), pid);
        }
        catch (IOException)
        {
            // It exited meanwhile (ESRCH).
        }
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as octal (\040 and so on).</summary>
    private static string Unescape(string field)
        => field.Contains('\\', StringComparison.Ordinal)
            ? System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString())
            : field;
}
