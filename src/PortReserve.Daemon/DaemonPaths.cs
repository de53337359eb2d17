using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>Where the daemon listens and keeps its state by default: system paths as root, per-user XDG paths otherwise.</summary>
internal static class DaemonPaths
{
    public const string SystemStateDirectory = "/var/lib/portreserve";

    public static bool IsRoot => SocketLocations.EffectiveUid == 0;

    public static string DefaultSocket => IsRoot ? SocketLocations.SystemSocket : SocketLocations.UserSocket;

    public static string DefaultStateDirectory => IsRoot ? SystemStateDirectory : UserStateDirectory;

    /// <summary>$XDG_STATE_HOME/portreserve, with the XDG fallback ~/.local/state.</summary>
    private static string UserStateDirectory
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
}
