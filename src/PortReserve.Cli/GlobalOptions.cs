using System.CommandLine;

namespace PortReserve.Cli;

/// <summary>
/// Options accepted before or after the command name: <c>--json</c> by every command, <c>--socket</c> and
/// <c>--timeout</c> by those that ask the daemon (<see cref="AddDaemonOptionsTo"/>), so that <c>check --help</c> does
/// not offer them.
/// </summary>
internal sealed class GlobalOptions
{
    public Option<string> Socket { get; } = new("--socket")
    {
        Description = "The daemon's socket (default: $PORTRESERVE_SOCKET, else /run/portreserve/portreserved.sock, then $XDG_RUNTIME_DIR/portreserve/portreserved.sock)",
        HelpName = "PATH",
    };

    public Option<double> Timeout { get; } = CreateTimeout();

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };

    /// <summary>Lets a command that asks the daemon take <c>--socket</c> and <c>--timeout</c> after its name too.</summary>
    public Command AddDaemonOptionsTo(Command command)
    {
        command.Options.Add(Socket);
        command.Options.Add(Timeout);
        return command;
    }

    private static Option<double> CreateTimeout()
    {
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for each answer of the daemon before giving up (exit 3)",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => PortReservationClientOptions.DefaultRequestTimeout.TotalSeconds,

            // Parsed here, not by the library: its failure to convert a word would be an exception, not a usage error.
            CustomParser = result =>
            {
                string value = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds is > 0 and <= 86_400)
                {
                    return seconds;
                }

                result.AddError($"--timeout takes a number of seconds above 0 and at most 86400, not '{value}'");
                return 0;
            },
        };
        return timeout;
    }
}
