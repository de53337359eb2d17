using System.CommandLine;
using System.Text.Json;
using PortReserve.Interop;
using PortReserve.Declarations;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve check</c>: validate reservations.d files without a daemon, as CI and configuration management want.</summary>
internal static class CheckCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var files = new Argument<string[]>("FILE") { Description = "Files to check, in this order (default: every *.conf of the configuration directories)", Arity = ArgumentArity.ZeroOrMore };

        // An option check does not take ("--socket", "--timeout": check never asks the daemon) would otherwise be read
        // as the name of a file that cannot be read.
        files.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault(t => t.Value.StartsWith('-')) is { } unknown)
            {
                result.AddError($"check has no option '{unknown.Value}' (it reads files and never asks the daemon; a file whose name starts with '-' is ./{unknown.Value})");
            }
        });
        var configDirs = new Option<string[]>("--config-dir")
        {
            HelpName = "DIR",
            Description = $"Check the *.conf files of these directories, later ones overriding earlier ones by file name, as the daemon reads them (default: {string.Join(", then ", DeclarationFiles.DefaultDirectories)})",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("check", $"""
            Check reservations.d files without asking the daemon: the syntax of each line, that the users and groups
            they allow exist on this machine, and that no two lines overlap. Conflicts with the machine's live state
            (other reservations, system exclusions, ports in use) are found by the daemon when it applies the files.
            Prints one FILE:LINE: reason line per problem and exits 8 when there is any, 0 when there is none.

            File format, one reservation per line ('#' starts a comment):
              # protocol  port or range   options
              tcp         8080            allow-user=www-data
              udp         5000-5019       allow-group=media
              tcp         9100-9101
            allow-user= and allow-group= take comma-separated names and may repeat; nothing else is valid.

            Examples:
              portreserve check
              portreserve check /etc/portreserve/reservations.d/web.conf
              portreserve check --config-dir ./reservations.d
            """)
        {
            files,
            configDirs,
        };
        // Given before the command name, --socket and --timeout belong to the root command: check refuses them there too.
        command.Validators.Add(result =>
        {
            foreach (Option option in (Option[])[globals.Socket, globals.Timeout])
            {
                if (result.GetResult(option) is { Implicit: false })
                {
                    result.AddError($"check takes no {option.Name}: it reads files and never asks the daemon");
                }
            }
        });
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            string[] named = parseResult.GetValue(files) ?? [];
            string[] directories = parseResult.GetValue(configDirs) ?? [];
            if (named.Length > 0 && directories.Length > 0)
            {
                return await context.ReportAsync("InvalidArgument", (int)System.Net.Sockets.SocketError.InvalidArgument, "name files or --config-dir directories, not both", ExitCodes.Usage);
            }

            if (named.FirstOrDefault(Directory.Exists) is { } directory)
            {
                return await context.ReportAsync("InvalidArgument", (int)System.Net.Sockets.SocketError.InvalidArgument, $"{directory} is a directory: portreserve check --config-dir {directory} checks its *.conf files", ExitCodes.Usage);
            }

            // The default directories may well not exist; one named on the command line is a typo when it does not.
            if (directories.FirstOrDefault(d => !Directory.Exists(d)) is { } missing)
            {
                return await context.ReportAsync("InvalidArgument", (int)System.Net.Sockets.SocketError.InvalidArgument, $"--config-dir {missing}: no such directory", ExitCodes.Usage);
            }

            IReadOnlyList<string> searched = directories.Length > 0 ? directories : DeclarationFiles.DefaultDirectories;
            DeclarationSet set = named.Length > 0
                ? DeclarationSet.LoadFiles(named, UserExists, GroupExists)
                : DeclarationSet.LoadDirectories(searched, UserExists, GroupExists);
            await (context.Json ? WriteJsonAsync(context.Output, set) : WriteTextAsync(context.Output, set, searched, named.Length > 0));
            return set.Problems.Count == 0 ? ExitCodes.Success : ExitCodes.InvalidArgument;
        });
        return command;
    }

    private static bool UserExists(string name) => Accounts.UserId(name) is not null;

    private static bool GroupExists(string name) => Accounts.GroupId(name) is not null;

    private static Task WriteJsonAsync(TextWriter output, DeclarationSet set)
    {
        var json = new CheckJson(
            [.. set.Files], set.Blocks.Count,
            [.. set.Problems.Select(p => new ProblemJson(p.File, p.Line, p.Reason))]);
        return output.WriteLineAsync(JsonSerializer.Serialize(json, CliJsonContext.Default.CheckJson));
    }

    private static async Task WriteTextAsync(TextWriter output, DeclarationSet set, IReadOnlyList<string> directories, bool namedFiles)
    {
        foreach (DeclarationProblem problem in set.Problems)
        {
            await output.WriteLineAsync(problem.ToString());
        }

        string where = namedFiles || set.Files.Count > 0 ? $"{Plural(set.Files.Count, "file")}" : $"no *.conf files in {string.Join(", ", directories)}";
        await output.WriteLineAsync(set.Problems.Count == 0
            ? $"{Plural(set.Blocks.Count, "reservation")} in {where}: no problems"
            : $"{Plural(set.Problems.Count, "problem")} in {where}; {Plural(set.Blocks.Count, "valid reservation")} would apply, the lines above would be skipped");
    }

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
