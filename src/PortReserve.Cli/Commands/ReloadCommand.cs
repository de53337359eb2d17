using System.CommandLine;
using System.Text.Json;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve reload</c>: have the daemon apply its reservations.d files again, and say what happened.</summary>
internal static class ReloadCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("reload", """
            Have the daemon read its reservations.d files again and apply the difference: new lines add persistent
            reservations, reservations whose line is gone are deleted, changed allow-lists are updated, and reservations
            made with 'portreserve add' are never touched. A line that cannot apply (bad syntax, unknown user or group,
            overlapping another line, a live reservation, a system exclusion or a port in use) is skipped and printed as
            FILE:LINE: reason, and every other line still applies. Needs an administrator. Exits 8 when a line was
            skipped, 0 when none was. Sending the daemon SIGHUP does the same (systemctl reload portreserved).

            Examples:
              portreserve reload
              portreserve check && portreserve reload
            """);
        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            return context.RunAsync(async client =>
            {
                PortReservationReloadResult result = await client.ReloadDeclarationsAsync(cancellationToken);
                await (context.Json ? WriteJsonAsync(context.Output, result) : WriteTextAsync(context.Output, result));
                return result.TotalProblems == 0 ? ExitCodes.Success : ExitCodes.InvalidArgument;
            }, cancellationToken);
        });
        return command;
    }

    private static Task WriteJsonAsync(TextWriter output, PortReservationReloadResult r)
    {
        var json = new ReloadJson(r.Files, r.Added, r.Removed, r.Updated, r.Unchanged, [.. r.Problems.Select(p => new ProblemJson(p.File, p.Line, p.Reason))], r.TotalProblems);
        return output.WriteLineAsync(JsonSerializer.Serialize(json, CliJsonContext.Default.ReloadJson));
    }

    private static async Task WriteTextAsync(TextWriter output, PortReservationReloadResult r)
    {
        foreach (PortReservationFileProblem problem in r.Problems)
        {
            await output.WriteLineAsync(problem.ToString());
        }

        if (r.TotalProblems > r.Problems.Count)
        {
            await output.WriteLineAsync($"... and {r.TotalProblems - r.Problems.Count} more skipped lines (the daemon's log names each)");
        }

        await output.WriteLineAsync($"reloaded {r.Files} file(s): {r.Added} added, {r.Removed} removed, {r.Updated} updated, {r.Unchanged} unchanged"
            + (r.TotalProblems == 0 ? string.Empty : $"; {r.TotalProblems} line(s) skipped"));
    }
}
