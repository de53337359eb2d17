namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>A bind to a TCP port by the test peer (<c>try-bind</c>), as root or another uid, told as "ok" or what refused it.</summary>
internal static class BindAttempt
{
    public static async Task<string> AsUserAsync(uint uid, uint gid, string port, IDictionary<string, string?> environment)
        => Outcome((await OtherUser.RunAsync(uid, gid, Artifacts.Peer, ["try-bind", "tcp", port], environment)).Output);

    public static async Task<string> AsRootAsync(string port)
        => Outcome((await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", port])).Output);

    private static string Outcome(string output) => output.Trim().StartsWith("ok ", StringComparison.Ordinal) ? "ok" : output.Trim();
}
