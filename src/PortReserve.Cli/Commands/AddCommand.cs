using System.CommandLine;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve add</c>: create a persistent reservation (netsh int ipv4 add excludedportrange store=persistent).</summary>
internal static class AddCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var block = new BlockOptions();
        var allowUser = new Option<string[]>("--allow-user") { HelpName = "USER", Description = "A user (name or uid) allowed to bind from the reservation without being an administrator (repeatable)" };
        var allowGroup = new Option<string[]>("--allow-group") { HelpName = "GROUP", Description = "A group (name or gid) whose members may bind from the reservation (repeatable)" };
        var command = new Command("add", """
            Create a persistent reservation of exactly START..START+COUNT-1. It is stored on disk, stays in the kernel's
            reserved port list while the daemon runs and after it stops, and is restored at every daemon start (with a new
            token: find it with lookup). Needs an administrator: root or a member of the daemon's admin group.
            Without --allow-user/--allow-group only administrators may bind from it, as on Windows. Prints the token.

            Examples:
              portreserve add --protocol tcp --start 8080 --count 1 --allow-user www-data
              portreserve add --protocol udp --start 27000 --count 100 --allow-group games --json
            """);
        block.AddTo(command);
        command.Options.Add(allowUser);
        command.Options.Add(allowGroup);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            BlockArgument named = block.Read(parseResult);
            var options = new PersistentReservationOptions();
            foreach (string user in parseResult.GetValue(allowUser) ?? [])
            {
                options.AllowedUsers.Add(user);
            }

            foreach (string group in parseResult.GetValue(allowGroup) ?? [])
            {
                options.AllowedGroups.Add(group);
            }

            return context.RunAsync(async client =>
            {
                await context.WriteTokenAsync(await client.CreatePersistentAsync(named.Protocol, named.Start, named.Count, options, cancellationToken));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }
}
