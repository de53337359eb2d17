namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>The machine's cgroup v2 hierarchy, where <c>portreserve run</c> commands get cgroups of their own.</summary>
internal static class Cgroups
{
    /// <summary>Where the cgroup2 filesystem is mounted.</summary>
    public static string Root
        => File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).First(f => f.SkipWhile(x => x != "-").Skip(1).FirstOrDefault() == "cgroup2")[4];
}
