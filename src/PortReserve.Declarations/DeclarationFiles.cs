namespace PortReserve.Declarations;

/// <summary>
/// Finds the reservations.d files, the way sysctl.d and tmpfiles.d do: every <c>*.conf</c> in the directories, in
/// lexical order of file name; a file in a later directory replaces the same-named file in an earlier one (so
/// <c>/etc</c> overrides what a package put in <c>/usr/lib</c>, and a link to <c>/dev/null</c> masks it).
/// </summary>
internal static class DeclarationFiles
{
    /// <summary>Packages' files first, then the administrator's, which win by name.</summary>
    public static readonly IReadOnlyList<string> DefaultDirectories = ["/usr/lib/portreserve/reservations.d", "/etc/portreserve/reservations.d"];

    /// <summary>
    /// The files to read, in order, and the directories that could not be listed. A directory that does not exist is
    /// not a problem: none of them has to.
    /// </summary>
    public static (List<string> Files, List<DeclarationProblem> Problems) Find(IReadOnlyList<string> directories)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<DeclarationProblem>();
        foreach (string directory in directories)
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            try
            {
                foreach (string path in Directory.EnumerateFiles(directory, "*.conf"))
                {
                    string name = Path.GetFileName(path);
                    if (!name.StartsWith('.') && name.EndsWith(".conf", StringComparison.Ordinal))
                    {
                        byName[name] = path;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(new DeclarationProblem(directory, 0, $"cannot list the directory ({e.Message}); its files were not read"));
            }
        }

        return ([.. byName.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => pair.Value)], problems);
    }
}
