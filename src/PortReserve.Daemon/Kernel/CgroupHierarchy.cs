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
                return Path.TrimEndingDirectorySeparator(Path.Join(Root, line[3..]));
            }
        }

        throw new IOException($"process {pid} is in no cgroup of the v2 hierarchy");
    }

    /// <summary>The id of the cgroup at <paramref name="directory"/>.</summary>
    public static ulong IdOf(string directory) => Interop.Libc.InodeOf(directory);

    /// <summary>
    /// Creates a cgroup beneath <paramref name="parent"/> and returns its directory. One that exists already is an
    /// error, never used: whoever made it (a user with a delegated subtree) could put processes in it.
    /// </summary>
    public static string Create(string parent, string name)
    {
        string directory = Path.Join(parent, name);
        Interop.Libc.MakeDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return directory;
    }

    /// <summary>How deep <paramref name="cgroup"/> lies below the hierarchy's root (the root is level 0).</summary>
    public int LevelOf(string cgroup)
        => Path.GetRelativePath(Root, cgroup) is var relative && relative == "." ? 0 : relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>Moves a process (all its threads) into <paramref name="cgroup"/>.</summary>
    public static void Move(int pid, string cgroup) => File.WriteAllText(Path.Join(cgroup, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Removes a cgroup the daemon made and the cgroups beneath it (which processes in it made), first moving every
    /// process in them back to its parent (the cgroup it came from). <paramref name="keep"/> names cgroups beneath it
    /// that are still in use (a nested process tree): while one is there, the removal fails as busy.
    /// </summary>
    public static void Remove(string cgroup, Func<string, bool> keep)
    {
        string parent = Path.GetDirectoryName(cgroup) ?? throw new ArgumentException("not a cgroup directory", nameof(cgroup));
        foreach (string child in Directory.GetDirectories(cgroup).Where(child => !keep(child)))
        {
            EmptyInto(child, parent);
        }

        EmptyInto(cgroup, parent);
    }

    /// <summary>Moves the processes of <paramref name="cgroup"/> and its descendants to <paramref name="destination"/>, then removes them, deepest first.</summary>
    public static void EmptyInto(string cgroup, string destination)
    {
        foreach (string child in Directory.GetDirectories(cgroup))
        {
            EmptyInto(child, destination);
        }

        foreach (string pid in File.ReadAllLines(Path.Join(cgroup, "cgroup.procs")))
        {
            TryMove(pid, destination);
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
