using System.CommandLine;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve delete</c>: delete a persistent reservation (netsh int ipv4 delete excludedportrange store=persistent).</summary>
internal static class DeleteCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var block = new BlockOptions();
        var command = new Command("delete", """
            Delete the persistent reservation created with exactly this protocol, start and count; its ports leave the
            kernel's reserved port list. Needs an administrator. Exits 6 when no persistent reservation matches exactly.

            Example:
              portreserve delete --protocol tcp --start 8080 --count 1
            """);
        block.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            BlockArgument named = block.Read(parseResult);
            return context.RunAsync(async client =>
            {
                await client.DeletePersistentAsync(named.Protocol, named.Start, named.Count, cancellationToken);
                await context.Output.WriteLineAsync(context.Json ? "{\"deleted\":true}" : $"deleted persistent {named.Protocol.ToString().ToLowerInvariant()} reservation {named.Start}-{named.Start + named.Count - 1}");
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }
}
