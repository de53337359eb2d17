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

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print JSON for scripts instead of tables",
        Recursive = true,
    };
}
