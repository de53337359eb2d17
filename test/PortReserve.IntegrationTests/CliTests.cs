using System.Text.Json;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>The portreserve command line as a user runs it: real processes, exit statuses, JSON.</summary>
public sealed class CliTests
{
    [Fact(Timeout = 60_000)]
    public async Task Run_GivesTheCommandItsBlocksInFlagOrderAndReturnsItsExitStatus()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        string script = "echo \"TCP=$PORTRESERVE_TCP UDP=$PORTRESERVE_UDP\"; cat " + KernelList.Path + "; exit 7";

        (int exit, string output) = await Cli(daemon, "run", "--tcp", "2", "--udp-at", "5000:20", "--tcp-at", "7000:3", "--", "sh", "-c", script);

        Assert.Equal(7, exit);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] variables = lines[0].Split(' ');
        string[] tcp = variables[0]["TCP=".Length..].Split(',');
        Assert.Equal(2, tcp.Length);
        Assert.Equal("7000-7002", tcp[1]);
        Assert.Equal("UDP=5000-5019", variables[1]);
        Assert.Contains("5000-5019", lines[1]);
        Assert.Contains("7000-7002", lines[1]);
        Assert.Equal(string.Empty, KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_AOnePortBlock_IsTheBarePort_SoThatEveryIdiomForTheFirstPortWorks()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await Cli(daemon, "run", "--tcp-at", "7100:1", "--udp-at", "7200:2", "--", "sh", "-c", "echo \"$PORTRESERVE_TCP $PORTRESERVE_UDP ${PORTRESERVE_TCP%-*} ${PORTRESERVE_UDP%-*}\"");

        Assert.True(exit == 0, output);
        Assert.Equal("7100 7200-7201 7100 7200", output.Trim());
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_ConflictWithSystemExclusion_ExitsFiveWithKindOnStderr()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9001");

        (int exit, string output) = await Cli(daemon, "run", "--tcp-at", "9000:2", "--", "true");

        Assert.Equal(5, exit);
        Assert.StartsWith("portreserve: AddressAlreadyInUse: ", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Run_CommandNotFound_Exits127()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await Cli(daemon, "run", "--udp", "1", "--", "/nonexistent/program");

        Assert.Equal(127, exit);
        Assert.Contains("cannot run '/nonexistent/program'", output);
        Assert.Equal(string.Empty, KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task ShowJson_ListsEveryKindWithOwnerAndHidesOthersTokens()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9999");
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Udp, 6000, 4, TestContext.Current.CancellationToken).WithTimeout();

        (int exit, string output) = await Cli(daemon, "--json", "show");

        Assert.Equal(0, exit);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement runtime = json.RootElement.EnumerateArray().Single(e => e.GetProperty("kind").GetString() == "runtime");
        Assert.Equal("udp", runtime.GetProperty("protocol").GetString());
        Assert.Equal(6000, runtime.GetProperty("start").GetInt32());
        Assert.Equal(6003, runtime.GetProperty("end").GetInt32());
        Assert.Equal(4, runtime.GetProperty("count").GetInt32());
        Assert.Equal(Environment.ProcessId, runtime.GetProperty("ownerPid").GetInt32());
        Assert.Equal(0u, runtime.GetProperty("ownerUid").GetUInt32());
        Assert.Equal(JsonValueKind.Null, runtime.GetProperty("token").ValueKind);
        Assert.Equal(2, json.RootElement.EnumerateArray().Count(e => e.GetProperty("kind").GetString() == "system"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Show_TableForPeople_AndStatusShowsWhereThingsAre()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 6500, 1, TestContext.Current.CancellationToken).WithTimeout();

        (int showExit, string table) = await Cli(daemon, "show", "--protocol", "tcp");
        (int statusExit, string status) = await Cli(daemon, "status");

        Assert.Equal(0, showExit);
        Assert.Contains("Protocol", table);
        Assert.Contains($"pid {Environment.ProcessId} uid 0", table);
        Assert.Equal(0, statusExit);
        Assert.Contains(daemon.SocketPath, status);
        Assert.Contains(daemon.StateDirectory, status);
        Assert.Contains("runtime 1 TCP + 0 UDP", status);
        Assert.Contains("kernel list:     matches the table", status);
        Assert.Contains("largest free block", status);
        Assert.Contains("16384 runtime ports", status);
    }

    [Fact(Timeout = 30_000)]
    public async Task Status_NoDaemon_ExitsThree()
    {
        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Cli, ["status", "--socket", "/tmp/prt-missing/s"]);

        Assert.Equal(3, exit);
        Assert.StartsWith("portreserve: ServiceUnavailable: ", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Status_LinesUpEveryValue_InOneColumn()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await Cli(daemon, "status");

        Assert.Equal(0, exit);
        string[] fields = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Contains(fields, line => line.StartsWith("exclusive binds: ", StringComparison.Ordinal));
        Assert.All(fields, line => Assert.True(line.Length > 17 && line[16] == ' ' && line[17] != ' ', $"not in the value column: '{line}'"));
    }

    private static Task<(int ExitCode, string Output)> Cli(DaemonProcess daemon, params string[] arguments)
        => ChildProcess.RunAsync(Artifacts.Cli, arguments, daemon.ClientEnvironment);
}
