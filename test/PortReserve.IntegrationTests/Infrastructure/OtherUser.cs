namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>Runs a program as another uid and gid with setpriv, the way an unprivileged user would run it.</summary>
internal static class OtherUser
{
    public const uint Nobody = 65534;
    public const uint Stranger = 65533;

    /// <summary>True where this test process is really root (not root mapped in a user namespace), so it may change uid.</summary>
    public static bool CanSwitch => File.ReadAllText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) is ["0", "0", var count, ..] && count == "4294967295";

    public static Task<(int ExitCode, string Output)> RunAsync(uint uid, uint gid, string executable, IEnumerable<string> arguments, IDictionary<string, string?> environment, IEnumerable<uint>? supplementaryGroups = null)
    {
        string groups = supplementaryGroups is null ? "--clear-groups" : $"--groups={string.Join(',', supplementaryGroups)}";
        return ChildProcess.RunAsync("setpriv", [$"--reuid={uid}", $"--regid={gid}", groups, "--", executable, .. arguments], environment);
    }
}
