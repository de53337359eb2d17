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
        // "portreserve help [COMMAND]" is "portreserve [COMMAND] --help", as people type it.
        if (args is ["help", .. string[] topic])
        {
            args = [.. topic, "--help"];
        }

        // No response files: "@name" is an abstract socket address here, never "read arguments from file name".
        Command root = CreateRootCommand();
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        if (parsed.Errors.Count > 0)
        {
            // An unknown command is one error, not that and "no command given".
            if (parsed.CommandResult.Command == root && args is [string first, ..] && !first.StartsWith('-'))
            {
                await error.WriteLineAsync($"portreserve: '{first}' is not a command; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}");
                await error.WriteLineAsync("Try 'portreserve --help'.");
                return ExitCodes.Usage;
            }

            foreach (System.CommandLine.Parsing.ParseError parseError in parsed.Errors)
            {
                await error.WriteLineAsync($"portreserve: {parseError.Message}");
            }

            await error.WriteLineAsync("Try 'portreserve --help'.");
            return ExitCodes.Usage;
        }

        return await parsed.InvokeAsync(configuration, cancellationToken);
    }
}
