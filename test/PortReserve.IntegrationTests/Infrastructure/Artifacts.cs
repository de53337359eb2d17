namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>Where the programs under test were built: the same configuration as this test assembly.</summary>
internal static class Artifacts
{
    private static readonly string s_root = FindRoot();
    private static readonly string s_configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    /// <summary>The repository root (where PortReserve.slnx is).</summary>
    public static string Root => s_root;

    public static string Daemon => Output("src/PortReserve.Daemon", "portreserved");

    public static string Cli => Output("src/PortReserve.Cli", "PortReserve.Cli");

    public static string Peer => Output("test/PortReserve.TestPeer", "PortReserve.TestPeer");

    public static string Sample => Output("samples/AcquirePortReservation", "AcquirePortReservation");

    public static string WebSample => Output("samples/WebOnReservedPort", "WebOnReservedPort");

    private static string Output(string project, string executable)
    {
        string path = Path.Combine(s_root, project, "bin", s_configuration, "net10.0", executable);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build the solution first (./build.sh)", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PortReserve.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (PortReserve.slnx) above " + AppContext.BaseDirectory);
    }
}
