namespace PortReserve.Protocol;

/// <summary>
/// Where the daemon's socket is when no path is given: the system-wide path for a daemon run as root, a per-user XDG
/// path for anyone else's. The daemon listens there by default and clients look there.
/// </summary>
internal static class SocketLocations
{
    public const string EnvironmentVariable = "PORTRESERVE_SOCKET";
    public const string SystemSocket = "/run/portreserve/portreserved.sock";
    private const string SocketFileName = "portreserved.sock";

    /// <summary>This process's effective uid (from /proc/self/status; <see cref="uint.MaxValue"/> if unreadable).</summary>
    public static uint EffectiveUid
    {
        get
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

    /// <summary>$XDG_RUNTIME_DIR/portreserve/portreserved.sock, or a per-uid directory under /tmp without it.</summary>
    public static string UserSocket
    {
        get
        {
            string? runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            return string.IsNullOrEmpty(runtimeDir) || !Path.IsPathRooted(runtimeDir)
                ? Path.Combine(Path.GetTempPath(), $"portreserve-{EffectiveUid}", SocketFileName)
                : Path.Combine(runtimeDir, "portreserve", SocketFileName);
        }
    }
}
