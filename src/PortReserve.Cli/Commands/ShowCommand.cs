using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve show</c>: every reserved block, like <c>netsh int ipv4 show excludedportrange</c>.</summary>
internal static class ShowCommand
{
    public static Command Create(GlobalOptions globals)
    {
        Option<PortReservationProtocol?> protocol = ProtocolOption.Create(required: false);
        var command = new Command("show", "List every reservation: protocol, ports, kind (runtime, persistent, system), owner, and the token where you may use it.\n\nExamples:\n  portreserve show\n  portreserve show --protocol udp --json")
        {
            protocol,
        };

        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            return context.RunAsync(async client =>
            {
                IReadOnlyList<PortReservationInfo> listing = await client.ShowAsync(parseResult.GetValue(protocol), cancellationToken);
                await (context.Json ? WriteJsonAsync(context.Output, listing) : WriteTableAsync(context.Output, listing));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Task WriteJsonAsync(TextWriter output, IReadOnlyList<PortReservationInfo> listing)
    {
        ReservationJson[] rows = [.. listing.Select(r => new ReservationJson(
            Name(r.Protocol), r.StartPort, r.EndPort, r.Count, Name(r.Kind), r.OwnerPid, r.OwnerUid,
            r.Token?.ToString(CultureInfo.InvariantCulture), r.AllowedUsers, r.AllowedGroups, r.Source))];
        return output.WriteLineAsync(JsonSerializer.Serialize(rows, CliJsonContext.Default.ReservationJsonArray));
    }

    private static async Task WriteTableAsync(TextWriter output, IReadOnlyList<PortReservationInfo> listing)
    {
        if (listing.Count == 0)
        {
            await output.WriteLineAsync("No reservations.");
            return;
        }

        // Declared reservations name their FILE:LINE; the column is there only when one is listed.
        bool declared = listing.Any(r => r.Source is not null);
        var table = declared
            ? new TextTable("Protocol", "Start", "End", "Count", "Kind", "Owner / allowed", "Token", "Declared at")
            : new TextTable("Protocol", "Start", "End", "Count", "Kind", "Owner / allowed", "Token");
        foreach (PortReservationInfo r in listing)
        {
            string[] cells = [Name(r.Protocol), Invariant(r.StartPort), Invariant(r.EndPort), Invariant(r.Count), Name(r.Kind), Holder(r), r.Token?.ToString(CultureInfo.InvariantCulture) ?? "-"];
            table.Add(declared ? [.. cells, r.Source ?? "-"] : cells);
        }

        await table.WriteAsync(output);
        if (listing.Any(r => r.Kind == PortReservationKind.System))
        {
            await output.WriteLineAsync();
            await output.WriteLineAsync("system: entries of net.ipv4.ip_local_reserved_ports that portreserved did not create (administered exclusions); never handed out.");
        }
    }

    private static string Holder(PortReservationInfo r) => r.Kind switch
    {
        PortReservationKind.Runtime => $"pid {r.OwnerPid} uid {r.OwnerUid}",
        PortReservationKind.System => "system",
        _ when r.AllowedUsers.Count + r.AllowedGroups.Count == 0 => "administrators",
        _ => string.Join(", ", r.AllowedUsers.Select(u => $"user {u}").Concat(r.AllowedGroups.Select(g => $"group {g}"))),
    };

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Name(PortReservationProtocol protocol) => protocol.ToString().ToLowerInvariant();

    private static string Name(PortReservationKind kind) => kind.ToString().ToLowerInvariant();
}
