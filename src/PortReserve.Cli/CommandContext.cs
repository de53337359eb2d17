using System.CommandLine;
using System.Text.Json;

namespace PortReserve.Cli;

/// <summary>What a command action needs: its parse result, writers, the global options, and the shared error handling.</summary>
internal sealed class CommandContext(ParseResult parseResult, GlobalOptions globals)
{
    public ParseResult ParseResult { get; } = parseResult;

    public TextWriter Output => ParseResult.InvocationConfiguration.Output;

    public TextWriter Error => ParseResult.InvocationConfiguration.Error;

    public bool Json => ParseResult.GetValue(globals.Json);

    /// <summary>Connects to the daemon, runs <paramref name="action"/>, and turns failures into the contract's messages and exit codes.</summary>
    public async Task<int> RunAsync(Func<PortReservationClient, Task<int>> action, CancellationToken cancellationToken)
    {
        try
        {
            var options = new PortReservationClientOptions
            {
                SocketPath = ParseResult.GetValue(globals.Socket),
                RequestTimeout = TimeSpan.FromSeconds(ParseResult.GetValue(globals.Timeout)),
            };
            await using PortReservationClient client = await PortReservationClient.ConnectAsync(options, cancellationToken);
            return await action(client);
        }
        catch (PortReservationException e)
        {
            return await ReportAsync(e.Kind.ToString(), (int)e.SocketErrorCode, e.Message, ExitCodes.For(e.Kind));
        }
    }

    /// <summary>Prints a token: the bare number for people and shell scripts, <c>{"token": "..."}</c> with --json.</summary>
    public Task WriteTokenAsync(ulong token)
    {
        string text = token.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Output.WriteLineAsync(Json ? JsonSerializer.Serialize(new TokenJson(text), CliJsonContext.Default.TokenJson) : text);
    }

    /// <summary>Reports a failure: JSON on the output in --json mode, otherwise "portreserve: KIND: message" on stderr.</summary>
    public async Task<int> ReportAsync(string kind, int code, string message, int exitCode)
    {
        if (Json)
        {
            await Output.WriteLineAsync(JsonSerializer.Serialize(new ErrorJson(kind, code, message), CliJsonContext.Default.ErrorJson));
        }
        else
        {
            await Error.WriteLineAsync($"portreserve: {kind}: {message}");
        }

        return exitCode;
    }
}
