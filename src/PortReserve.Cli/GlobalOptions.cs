using System.CommandLine;

namespace PortReserve.Cli;

/// <summary>Options every command accepts, before or after the command name.</summary>
internal sealed class GlobalOptions
{
    public Option<string> Socket { get; } = new("--socket")
    {
        Description = "The daemon's socket (default: $PORTRESERVE_SOCKET, else /run/portreserve/portreserved.sock, then $XDG_RUNTIME_DIR/portreserve/portreserved.sock)",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = CreateTimeout();

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };

    private static Option<double> CreateTimeout()
    {
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to wait for each answer of the daemon before giving up (exit 3); default 30",
            Recursive = true,
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
