using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>Where the daemon listens and keeps its state by default: system paths as root, per-user XDG paths otherwise.</summary>
internal static class DaemonPaths
{
    public const string SystemStateDirectory = "/var/lib/portreserve";

    public static bool IsRoot => SocketLocations.EffectiveUid == 0;

    public static string DefaultSocket => IsRoot ? SocketLocations.SystemSocket : SocketLocations.UserSocket;

    public static string DefaultStateDirectory => IsRoot ? SystemStateDirectory : UserStateDirectory;

    /// <summary>
    /// The reservations.d directories: the system's as root; a per-user daemon's own under $XDG_CONFIG_HOME (default
    /// ~/.config), since the machine's files declare the machine's reservations, not a user's.
    /// </summary>
    public static IReadOnlyList<string> DefaultConfigDirectories
        => IsRoot ? Declarations.DeclarationFiles.DefaultDirectories
            : XdgHome("XDG_CONFIG_HOME", ".config") is { } config ? [Path.Combine(config, "portreserve", "reservations.d")] : [];

    /// <summary>$XDG_STATE_HOME/portreserve, with the XDG fallback ~/.local/state; empty when there is no home to put it in.</summary>
    private static string UserStateDirectory => XdgHome("XDG_STATE_HOME", Path.Combine(".local", "state")) is { } state ? Path.Combine(state, "portreserve") : string.Empty;

    /// <summary>
    /// An XDG base directory: the variable when it holds an absolute path, else its fallback under the home directory
    /// (whether or not it exists: a missing one is an error at start that names it); null without a home directory,
    /// never a path relative to wherever the daemon was started.
    /// </summary>
    private static string? XdgHome(string variable, string fallback)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(value) && Path.IsPathRooted(value))
        {
            return value;
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify);
        return Path.IsPathRooted(home) ? Path.Combine(home, fallback) : null;
    }
}
