using System.CommandLine;

namespace PortReserve.Cli;

/// <summary>The <c>--protocol --start --count</c> options that name a persistent block.</summary>
internal sealed class BlockOptions
{
    public Option<PortReservationProtocol?> Protocol { get; } = ProtocolOption.Create(required: true);

    public Option<int> Start { get; } = new("--start") { HelpName = "PORT", Description = "First port of the block (1-65535)", Required = true, CustomParser = result => Port(result, "--start", "a port from 1 to 65535") };

    public Option<int> Count { get; } = new("--count") { HelpName = "N", Description = "Number of ports in the block", Required = true, CustomParser = result => Port(result, "--count", "a port count from 1 to 65535") };

    /// <summary>Adds the options, and the check that the block ends at or below 65535: a usage error, as in <c>run</c>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Protocol);
        command.Options.Add(Start);
        command.Options.Add(Count);
        command.Validators.Add(result =>
        {
            // Read from the tokens: a value that did not parse has its own error already, and no value to read.
            if (Number(result.GetResult(Start)) is { } start && Number(result.GetResult(Count)) is { } count && start + count - 1 > 65535)
            {
                result.AddError($"--start {start} --count {count} ends past port 65535");
            }
        });
    }

    /// <summary>A whole number from 1 to 65535, or a usage error naming the option (never the library's type names).</summary>
    private static int Port(System.CommandLine.Parsing.ArgumentResult result, string option, string what)
    {
        if (Number(result.Tokens) is { } number)
        {
            return number;
        }

        result.AddError($"{option} takes {what}, not '{(result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty)}'");
        return 0;
    }

    private static int? Number(System.CommandLine.Parsing.OptionResult? option) => option is null ? null : Number(option.Tokens);

    private static int? Number(IReadOnlyList<System.CommandLine.Parsing.Token> tokens)
        => tokens.Count == 1 && int.TryParse(tokens[0].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number) && number is >= 1 and <= 65535 ? number : null;

    public BlockArgument Read(ParseResult parseResult)
        => new(parseResult.GetValue(Protocol) ?? throw new InvalidOperationException("--protocol is required"), parseResult.GetValue(Start), parseResult.GetValue(Count));
}
