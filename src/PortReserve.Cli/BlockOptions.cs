using System.CommandLine;

namespace PortReserve.Cli;

/// <summary>The <c>--protocol --start --count</c> options that name a persistent block.</summary>
internal sealed class BlockOptions
{
    public Option<PortReservationProtocol?> Protocol { get; } = ProtocolOption.Create(required: true);

    public Option<int> Start { get; } = new("--start") { Description = "First port of the block (1-65535)", Required = true };

    public Option<int> Count { get; } = new("--count") { Description = "Number of ports in the block", Required = true };

    public void AddTo(Command command)
    {
        command.Options.Add(Protocol);
        command.Options.Add(Start);
        command.Options.Add(Count);
    }

    public BlockArgument Read(ParseResult parseResult)
        => new(parseResult.GetValue(Protocol) ?? throw new InvalidOperationException("--protocol is required"), parseResult.GetValue(Start), parseResult.GetValue(Count));
}
