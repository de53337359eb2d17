namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// The attacks of <c>Attacks/tools/attacker.py</c>, run by Debian's own Python (other uids cannot run the python3 on
/// root's PATH) as another user, or as root where the attack needs it.
/// </summary>
internal static class Attacker
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string> s_script = new(() => OtherUser.Reachable(Path.Combine(AppContext.BaseDirectory, "attacks", "attacker.py")));

    /// <summary>The script, in a copy every uid may read.</summary>
    public static string Script => s_script.Value;

    public static ChildProcess Start(uint uid, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, bool redirectInput = false)
        => OtherUser.Start(uid, uid, Python, [Script, .. arguments], environment ?? new Dictionary<string, string?>(), redirectInput: redirectInput);

    public static Task<(int ExitCode, string Output)> RunAsync(uint uid, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
        => OtherUser.RunAsync(uid, uid, Python, [Script, .. arguments], environment ?? new Dictionary<string, string?>(), timeout: timeout);

    public static ChildProcess StartAsRoot(IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, bool redirectInput = false)
        => ChildProcess.Start(Python, [Script, .. arguments], environment, redirectInput);
}
