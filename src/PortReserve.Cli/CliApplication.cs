using System.CommandLine;
using System.CommandLine.Help;
using PortReserve.Cli.Commands;

namespace PortReserve.Cli;

/// <summary>Builds the <c>portreserve</c> command tree and runs it with the given writers (tests pass StringWriters).</summary>
internal static class CliApplication
{
    public static Command CreateRootCommand()
    {
        var globals = new GlobalOptions();

        // A plain command rather than RootCommand, whose name comes from the entry assembly (PortReserve.Cli).
        var root = new Command("portreserve", """
            portreserve: reserve TCP and UDP ports on this machine through portreserved, so that a port is still free when
            your service starts. Reserved ports are written to the kernel's reserved port list, so no automatic port choice
            (bind to port 0, connect without bind) can take them.

            Exit status: 0 success, 1 other failure, 2 usage error, 3 daemon not reachable, 4 access denied,
            5 address already in use, 6 not found, 7 no free block / quota, 8 invalid argument.
            """)
        {
            globals.Socket,
            globals.Timeout,
            globals.Json,
            new HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(globals.AddDaemonOptionsTo(AddCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(LookupCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(DeleteCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(ShowCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(StatusCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(RunCommand.Create(globals)));
        root.Subcommands.Add(globals.AddDaemonOptionsTo(ReloadCommand.Create(globals)));
        root.Subcommands.Add(CheckCommand.Create(globals));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        Command root = CreateRootCommand();

        // "portreserve help [COMMAND]" is "portreserve [COMMAND] --help", as people type it.
        if (args is ["help", .. string[] topic])
        {
            if (topic is [string name, ..] && !root.Subcommands.Any(c => c.Name == name))
            {
                return await NotACommandAsync(root, name, error);
            }

            args = [.. topic, "--help"];
        }

        // No response files: "@name" is an abstract socket address here, never "read arguments from file name".
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        if (parsed.Errors.Count > 0)
        {
            // An unknown command or option is one error, not that and "no command given".
            if (parsed.CommandResult.Command == root && args is [string first, ..] && !first.StartsWith('-'))
            {
                return await NotACommandAsync(root, first, error);
            }

            IEnumerable<string> messages = parsed.CommandResult.Command == root && parsed.UnmatchedTokens.Count > 0
                ? parsed.UnmatchedTokens.Select(token => $"unknown option '{token}'")
                : parsed.Errors.Select(e => e.Message);
            foreach (string message in messages)
            {
                await error.WriteLineAsync($"portreserve: {message}");
            }

            await error.WriteLineAsync("Try 'portreserve --help'.");
            return ExitCodes.Usage;
        }

        return await parsed.InvokeAsync(configuration, cancellationToken);
    }

    private static async Task<int> NotACommandAsync(Command root, string name, TextWriter error)
    {
        await error.WriteLineAsync($"portreserve: '{name}' is not a command; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}");
        await error.WriteLineAsync("Try 'portreserve --help'.");
        return ExitCodes.Usage;
    }
}
