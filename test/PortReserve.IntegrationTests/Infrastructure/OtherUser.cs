using System.Collections.Concurrent;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>Runs a program as another uid and gid with setpriv, the way an unprivileged user would run it.</summary>
internal static class OtherUser
{
    public const uint Nobody = 65534;
    public const uint Stranger = 65533;

    private static readonly ConcurrentDictionary<string, string> s_reachableCopies = new();

    /// <summary>True where this test process is really root (not root mapped in a user namespace), so it may change uid.</summary>
    public static bool CanSwitch => File.ReadAllText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) is ["0", "0", var count, ..] && count == "4294967295";

    public static Task<(int ExitCode, string Output)> RunAsync(uint uid, uint gid, string executable, IEnumerable<string> arguments, IDictionary<string, string?> environment, IEnumerable<uint>? supplementaryGroups = null, TimeSpan? timeout = null)
        => ChildProcess.RunAsync("setpriv", Arguments(uid, gid, executable, arguments, supplementaryGroups), environment, timeout);

    /// <summary>Starts a long-running program as another uid; setpriv execs it, so the child's pid is the program's.</summary>
    public static ChildProcess Start(uint uid, uint gid, string executable, IEnumerable<string> arguments, IDictionary<string, string?> environment, IEnumerable<uint>? supplementaryGroups = null, bool redirectInput = false)
        => ChildProcess.Start("setpriv", Arguments(uid, gid, executable, arguments, supplementaryGroups), environment, redirectInput);

    private static string[] Arguments(uint uid, uint gid, string executable, IEnumerable<string> arguments, IEnumerable<uint>? supplementaryGroups)
    {
        string groups = supplementaryGroups is null ? "--clear-groups" : $"--groups={string.Join(',', supplementaryGroups)}";
        // No capabilities at all, not even ones a program could regain: what an unprivileged user has.
        return [$"--reuid={uid}", $"--regid={gid}", groups, "--inh-caps=-all", "--bounding-set=-all", "--", Reachable(executable), .. arguments];
    }

    /// <summary>
    /// The checkout may sit under a directory other users cannot enter (a fresh clone in a 0700 temp directory), so
    /// other uids run a world-readable copy of the program's directory. The system's own programs are used as they are.
    /// </summary>
    public static string Reachable(string executable) => executable.StartsWith("/usr/", StringComparison.Ordinal) || !executable.Contains('/', StringComparison.Ordinal) ? executable : s_reachableCopies.GetOrAdd(executable, static path =>
    {
        string source = Path.GetDirectoryName(path)!;
        DirectoryInfo copy = Directory.CreateTempSubdirectory("prt-bin-");
        copy.UnixFileMode = (UnixFileMode)0b111_101_101;
        // Native libraries (runtimes/<rid>/native) are in subdirectories, so the whole tree goes.
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy.FullName, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        foreach (string directory in Directory.GetDirectories(copy.FullName, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => copy.Delete(recursive: true);
        return Path.Combine(copy.FullName, Path.GetFileName(path));
    });
}
