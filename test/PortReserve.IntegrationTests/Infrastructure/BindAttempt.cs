namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>A bind to a TCP port by the test peer (<c>try-bind</c>), as root or another uid, told as "ok" or what refused it.</summary>
internal static class BindAttempt
{
    public static Task<string> AsUserAsync(uint uid, uint gid, string port, IDictionary<string, string?> environment)
        => AsUserAsync(uid, gid, "tcp", port, environment);

    public static async Task<string> AsUserAsync(uint uid, uint gid, string protocol, string port, IDictionary<string, string?> environment)
        => Outcome((await OtherUser.RunAsync(uid, gid, Artifacts.Peer, ["try-bind", protocol, port], environment)).Output);

    /// <summary>How a bind to <paramref name="port"/> fares for nobody (the user tests allow on persistent reservations) and for a stranger.</summary>
    public static async Task<(string Nobody, string Stranger)> ByNobodyAndStrangerAsync(string port, IDictionary<string, string?> environment)
    {
        string nobody = await AsUserAsync(OtherUser.Nobody, OtherUser.Nobody, port, environment);
        return (nobody, await AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, port, environment));
    }

    public static async Task<string> AsRootAsync(string port)
        => Outcome((await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", port])).Output);

    private static string Outcome(string output) => output.Trim().StartsWith("ok ", StringComparison.Ordinal) ? "ok" : output.Trim();
}
