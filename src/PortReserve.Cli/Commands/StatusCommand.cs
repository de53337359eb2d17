using System.Buffers;
using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace PortReserve.Cli.Commands;

/// <summary><c>portreserve status</c>: is the daemon up, and in what state.</summary>
internal static class StatusCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var command = new Command("status", "Show the daemon's version, uptime, kernel sync mode and state, reservation counts, and where its socket and state live. Exits 3 when no daemon answers.\n\nExample:\n  portreserve status");
        command.SetAction((parseResult, cancellationToken) =>
        {
            var context = new CommandContext(parseResult, globals);
            return context.RunAsync(async client =>
            {
                PortReserveStatus status = await client.GetStatusAsync(cancellationToken);
                await (context.Json ? WriteJsonAsync(context.Output, status) : WriteTextAsync(context.Output, status));
                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>The status as one JSON object; its names are the CLI's contract, written here once.</summary>
    private static Task WriteJsonAsync(TextWriter output, PortReserveStatus s)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", s.Version);
            json.WriteNumber("uptimeSeconds", Math.Round(s.Uptime.TotalSeconds, 3));
            json.WriteString("kernelSyncMode", s.KernelSyncMode);
            json.WriteBoolean("kernelSyncActive", s.KernelSyncActive);
            json.WriteString("kernelSyncDetail", s.KernelSyncDetail);
            json.WriteNumber("runtimeReservations", s.RuntimeReservations);
            json.WriteNumber("persistentReservations", s.PersistentReservations);
            json.WriteNumber("systemExclusions", s.SystemExclusions);
            json.WriteNumber("connections", s.Connections);
            json.WriteString("wildcardRange", $"{s.WildcardStartPort}-{s.WildcardEndPort}");
            json.WriteString("socket", s.SocketPath);
            json.WriteString("stateDirectory", s.StateDirectory);
            if (s.KernelListMatches is { } matches)
            {
                json.WriteBoolean("kernelListMatches", matches);
            }
            else
            {
                json.WriteNull("kernelListMatches");
            }

            json.WriteNumber("runtimeTcp", s.RuntimeTcpReservations);
            json.WriteNumber("runtimeUdp", s.RuntimeUdpReservations);
            json.WriteNumber("persistentTcp", s.PersistentTcpReservations);
            json.WriteNumber("persistentUdp", s.PersistentUdpReservations);
            json.WriteNumber("largestFreeTcpBlock", s.LargestFreeTcpBlock);
            json.WriteNumber("largestFreeUdpBlock", s.LargestFreeUdpBlock);
            json.WriteNumber("maxRuntimePortsPerUid", s.MaxRuntimePortsPerUid);
            json.WriteNumber("maxRuntimeReservationsPerUid", s.MaxRuntimeReservationsPerUid);
            json.WriteString("portserverAddress", s.PortServerAddress);
            json.WriteString("metricsAddress", s.MetricsAddress);
            json.WriteString("exclusiveBindsMode", s.ExclusiveBindsMode);
            json.WriteBoolean("exclusiveBindsActive", s.ExclusiveBindsActive);
            json.WriteString("exclusiveBindsDetail", s.ExclusiveBindsDetail);
            WriteList(json, "configDirectories", s.ConfigDirectories);
            json.WriteNumber("declaredReservations", s.DeclaredReservations);
            WriteList(json, "declaredSources", s.DeclaredSources);
            json.WriteNumber("declarationProblemCount", s.DeclarationProblemCount);
            WriteList(json, "declarationProblems", s.DeclarationProblems);
            json.WriteNumber("refusedBinds", s.RefusedBinds);
            WriteList(json, "recentRefusedBinds", s.RecentRefusedBinds);
            json.WriteEndObject();
        }

        return output.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (string value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    /// <summary>One line of the status: its label and value in two columns (a value's further lines have no label).</summary>
    private static string Field(string label, string value) => (label.Length == 0 ? string.Empty : label + ":").PadRight(LabelWidth) + value;

    // The longest label, "exclusive binds:", and a space.
    private const int LabelWidth = 17;

    private static async Task WriteTextAsync(TextWriter output, PortReserveStatus s)
    {
        await output.WriteLineAsync($"portreserved {s.Version}, up {FormatUptime(s.Uptime)}");
        await output.WriteLineAsync(Field("socket", $"{s.SocketPath}"));
        await output.WriteLineAsync(Field("state", $"{s.StateDirectory}"));
        await output.WriteLineAsync(Field("kernel sync", $"{s.KernelSyncMode}: {s.KernelSyncDetail}"));
        await output.WriteLineAsync(Field("exclusive binds", $"{s.ExclusiveBindsMode}: {s.ExclusiveBindsDetail}"));
        await output.WriteLineAsync(Field("kernel list", $"{s.KernelListMatches switch { true => "matches the table", false => "DIFFERS from the table (a write may have been in progress; check again)", null => "not checked (sync off)" }}"));
        await output.WriteLineAsync(Field("reservations", $"runtime {s.RuntimeTcpReservations} TCP + {s.RuntimeUdpReservations} UDP, persistent {s.PersistentTcpReservations} TCP + {s.PersistentUdpReservations} UDP, {s.SystemExclusions} system exclusion range(s)"));
        await output.WriteLineAsync(Field("wildcard range", $"{s.WildcardStartPort}-{s.WildcardEndPort}; largest free block {s.LargestFreeTcpBlock} TCP, {s.LargestFreeUdpBlock} UDP port(s)"));
        await output.WriteLineAsync(Field("quotas", $"{s.MaxRuntimePortsPerUid} runtime ports and {s.MaxRuntimeReservationsPerUid} runtime reservations per non-root uid"));
        await output.WriteLineAsync(Field("connections", $"{s.Connections}"));
        await output.WriteLineAsync(Field("portserver", $"{s.PortServerAddress ?? "off (--portserver-address)"}"));
        await output.WriteLineAsync(Field("metrics", $"{s.MetricsAddress ?? "off (--metrics-listen)"}"));
        await output.WriteLineAsync(Field("declared", $"{s.DeclaredReservations} persistent reservation(s) from the *.conf files of {string.Join(", then ", s.ConfigDirectories)}"));
        foreach (string source in s.DeclaredSources)
        {
            await output.WriteLineAsync(Field(string.Empty, source));
        }

        if (s.DeclaredReservations > s.DeclaredSources.Count)
        {
            await output.WriteLineAsync(Field(string.Empty, $"and {s.DeclaredReservations - s.DeclaredSources.Count} more (portreserve show)"));
        }

        if (s.ExclusiveBindsActive || s.RefusedBinds > 0)
        {
            await output.WriteLineAsync(Field("refused binds", s.RefusedBinds == 0 ? "none" : $"{s.RefusedBinds}; the last (the daemon's log says whose reservation refused each):"));
            foreach (string refused in s.RecentRefusedBinds)
            {
                await output.WriteLineAsync(Field(string.Empty, refused));
            }
        }

        if (s.DeclarationProblemCount > 0)
        {
            await output.WriteLineAsync(Field("skipped lines", $"{s.DeclarationProblemCount} at the last reload (fix them, then portreserve reload):"));
            foreach (string problem in s.DeclarationProblems)
            {
                await output.WriteLineAsync(Field(string.Empty, problem));
            }

            if (s.DeclarationProblemCount > s.DeclarationProblems.Count)
            {
                await output.WriteLineAsync(Field(string.Empty, $"and {s.DeclarationProblemCount - s.DeclarationProblems.Count} more (portreserve check, or the daemon's log)"));
            }
        }
    }

    private static string FormatUptime(TimeSpan uptime) => uptime.TotalDays >= 1
        ? $"{(int)uptime.TotalDays}d {uptime.Hours}h {uptime.Minutes}m"
        : uptime.TotalHours >= 1 ? $"{(int)uptime.TotalHours}h {uptime.Minutes}m {uptime.Seconds}s" : $"{uptime.Minutes}m {uptime.Seconds}s";
}
