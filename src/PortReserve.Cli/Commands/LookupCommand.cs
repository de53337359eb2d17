using System.CommandLine;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve lookup</c>: the current token of a persistent reservation (LookupPersistentTcpPortReservation).</summary>
internal static class LookupCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var block = new BlockOptions();
        var command = new Command("lookup", """
            Print the current token of the persistent reservation created with exactly this protocol, start and count.
            Anyone may look up. Exits 6 when no persistent reservation matches exactly.

            Example:
              portreserve lookup --protocol tcp --start 8080 --count 1
            """);
        block.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            BlockArgument named = block.Read(parseResult);
            return context.RunAsync(async client =>
            {
                await context.WriteTokenAsync(await client.LookupPersistentAsync(named.Protocol, named.Start, named.Count, cancellationToken));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }
}
