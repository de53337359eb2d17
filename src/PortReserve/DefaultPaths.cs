namespace PortReserve;

/// <summary>
/// Where the daemon listens and keeps its state when no path is given: the system-wide paths for root, per-user
/// XDG paths for everyone else. Clients try the system path first, then their per-user path.
/// </summary>
internal static class DefaultPaths
{
    public const string SocketEnvironmentVariable = "PORTRESERVE_SOCKET";
    public const string SystemSocket = "/run/portreserve/portreserved.sock";
    public const string SystemStateDirectory = "/var/lib/portreserve";
    private const string SocketFileName = "portreserved.sock";

    public static bool IsRoot => GetEffectiveUid() == 0;

    /// <summary>This process's effective uid (from /proc/self/status; <see cref="uint.MaxValue"/> if unreadable).</summary>
    public static uint EffectiveUid => GetEffectiveUid();

    public static string UserSocket
    {
        get
        {
            string? runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            if (string.IsNullOrEmpty(runtimeDir) || !Path.IsPathRooted(runtimeDir))
            {
                runtimeDir = Path.Combine(Path.GetTempPath(), $"portreserve-{GetEffectiveUid()}");
                return Path.Combine(runtimeDir, SocketFileName);
            }

            return Path.Combine(runtimeDir, "portreserve", SocketFileName);
        }
    }

    public static string UserStateDirectory
    {
        get
        {
            string? stateHome = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(stateHome) || !Path.IsPathRooted(stateHome))
            {
                stateHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            }

            return Path.Combine(stateHome, "portreserve");
        }
    }

    /// <summary>The socket the daemon listens on by default.</summary>
    public static string DaemonSocket => IsRoot ? SystemSocket : UserSocket;

    /// <summary>The state directory the daemon uses by default.</summary>
    public static string DaemonStateDirectory => IsRoot ? SystemStateDirectory : UserStateDirectory;

    /// <summary>The sockets a client tries, in order, when it was given no path.</summary>
    public static IReadOnlyList<string> ClientCandidates()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(SocketEnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return [fromEnvironment];
        }

        string user = UserSocket;
        return user == SystemSocket ? [SystemSocket] : [SystemSocket, user];
    }

    private static uint GetEffectiveUid()
    {
        // /proc/self/status "Uid:" line: real, effective, saved, filesystem. No native call needed.
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return uint.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return uint.MaxValue;
    }
}
