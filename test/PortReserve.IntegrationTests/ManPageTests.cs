using System.Text.RegularExpressions;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>The man pages document every command and option the programs' --help lists, so that they cannot drift apart.</summary>
public sealed partial class ManPageTests
{
    [Fact(Timeout = 60_000)]
    public async Task PortreserveMan_DocumentsEveryCommandAndOption()
    {
        string page = await ReadPageAsync("portreserve.1");
        (_, string help) = await ChildProcess.RunAsync(Artifacts.Cli, ["--help"]);
        string[] commands = [.. CommandLine().Matches(help[help.IndexOf("Commands:", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value)];
        Assert.Contains("run", commands);

        foreach (string command in commands)
        {
            Assert.Matches($@"(?m)^\.B {command}\b", page);
            (_, string commandHelp) = await ChildProcess.RunAsync(Artifacts.Cli, [command, "--help"]);
            foreach (string option in Options(commandHelp))
            {
                Assert.True(page.Contains(Roff(option), StringComparison.Ordinal), $"portreserve.1 does not mention {option} of {command}");
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task PortreservedMan_DocumentsEveryOption()
    {
        string page = await ReadPageAsync("portreserved.8");
        (_, string help) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--help"]);
        string[] options = Options(help);
        Assert.Contains("--restart-grace", options);

        foreach (string option in options)
        {
            Assert.Matches($@"(?m)^\.B[IR]? {Regex.Escape(Roff(option))}\b", page);
        }
    }

    private static Task<string> ReadPageAsync(string name)
        => File.ReadAllTextAsync(Path.Combine(Artifacts.Root, "contrib/man", name), TestContext.Current.CancellationToken);

    private static string[] Options(string help) => [.. OptionLine().Matches(help).Select(m => m.Groups[1].Value).Where(o => o != "--help")];

    private static string Roff(string option) => option.Replace("-", "\\-", StringComparison.Ordinal);

    [GeneratedRegex(@"(?m)^  ([a-z]+)\b")]
    private static partial Regex CommandLine();

    [GeneratedRegex(@"(?m)^  (?:-\?, -h, )?(--[a-z-]+)")]
    private static partial Regex OptionLine();
}
