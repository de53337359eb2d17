using System.Globalization;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Persistent reservations through the CLI and library: durable, in the kernel across crashes, admin-only.</summary>
public sealed class PersistentReservationTests
{
    [Fact(Timeout = 90_000)]
    public async Task Lifecycle_CreateSurvivesKill9AndRestart_ThenDeleteRemovesItEverywhere()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9999");
        (int addExit, string token) = await Cli(daemon, "add", "--protocol", "tcp", "--start", "5000", "--count", "20");
        Assert.Equal(0, addExit);
        Assert.Equal("5000-5019,9999", KernelList.Text);

        daemon.Kill9();
        await daemon.WaitForExitAsync();
        Assert.Equal("5000-5019,9999", KernelList.Text);
        await daemon.RestartAsync();

        (int lookupExit, string newToken) = await Cli(daemon, "lookup", "--protocol", "tcp", "--start", "5000", "--count", "20");
        (_, string listing) = await Cli(daemon, "show");
        Assert.Equal(0, lookupExit);
        Assert.NotEqual(token.Trim(), newToken.Trim());
        Assert.Matches(@"tcp\s+5000\s+5019\s+20\s+persistent\s+administrators\s+" + newToken.Trim(), listing);
        Assert.Equal("5000-5019,9999", KernelList.Text);

        (int deleteExit, _) = await Cli(daemon, "delete", "--protocol", "tcp", "--start", "5000", "--count", "20");
        Assert.Equal(0, deleteExit);
        Assert.Equal("9999", KernelList.Text);
        (int goneExit, _) = await Cli(daemon, "lookup", "--protocol", "tcp", "--start", "5000", "--count", "20");
        Assert.Equal(6, goneExit);

        Assert.Equal(0, await daemon.StopAsync());
        await daemon.RestartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        Assert.DoesNotContain(await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout(), r => r.Kind == PortReservationKind.Persistent);
    }

    [Fact(Timeout = 60_000)]
    public async Task SigTerm_WithoutExclusiveBinds_KeepsPersistentBlocksInTheKernelAndDropsRuntimeOnes()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");
        await using PortReservationClient client = await daemon.ConnectAsync();
        await client.CreatePersistentAsync(PortReservationProtocol.Udp, 6000, 5, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        await client.AcquireAsync(PortReservationProtocol.Udp, 7000, 5, TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal("6000-6004,7000-7004", KernelList.Text);

        Assert.Equal(0, await daemon.StopAsync());

        Assert.Equal("6000-6004", KernelList.Text);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(5, "add", "--protocol", "tcp", "--start", "5010", "--count", "20")]
    [InlineData(5, "add", "--protocol", "udp", "--start", "8999", "--count", "2")]
    [InlineData(6, "lookup", "--protocol", "tcp", "--start", "5000", "--count", "19")]
    [InlineData(6, "lookup", "--protocol", "udp", "--start", "5000", "--count", "20")]
    [InlineData(6, "delete", "--protocol", "tcp", "--start", "5001", "--count", "19")]
    [InlineData(2, "add", "--protocol", "tcp", "--start", "0", "--count", "5")]
    [InlineData(2, "add", "--protocol", "tcp", "--start", "65535", "--count", "2")]
    [InlineData(2, "lookup", "--protocol", "tcp", "--start", "70000", "--count", "1")]
    [InlineData(8, "add", "--protocol", "tcp", "--start", "6000", "--count", "1", "--allow-user", "no-such-user-here")]
    [InlineData(2, "add", "--protocol", "tcp", "--start", "6000")]
    public async Task BadRequests_GetTheSpecsKindsAndTheCliExitStatuses(int expectedExit, params string[] arguments)
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9000");
        await using PortReservationClient client = await daemon.ConnectAsync();
        await client.CreatePersistentAsync(PortReservationProtocol.Tcp, 5000, 20, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

        (int exit, string output) = await Cli(daemon, arguments);

        Assert.True(expectedExit == exit, $"exit {exit}: {output}");
        string expectedKind = expectedExit switch { 5 => "AddressAlreadyInUse", 6 => "NotFound", 8 => "InvalidArgument", _ => string.Empty };
        Assert.StartsWith($"portreserve: {expectedKind}", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task BadRequests_InJson_CarryKindAndWindowsCode()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();

        (int exit, string output) = await Cli(daemon, "--json", "lookup", "--protocol", "udp", "--start", "5000", "--count", "1");

        Assert.Equal(6, exit);
        Assert.Contains("\"error\":\"NotFound\"", output);
        Assert.Contains("\"code\":1168", output);
    }

    [Fact(Timeout = 60_000)]
    public async Task CorruptStore_StopsTheDaemonWithAClearMessage()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        Assert.Equal(0, await daemon.StopAsync());
        await File.WriteAllTextAsync(Path.Combine(daemon.StateDirectory, "reservations.db"), new string('#', 10_000), TestContext.Current.CancellationToken);
        File.Delete(Path.Combine(daemon.StateDirectory, "reservations.db-wal"));

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", daemon.SocketPath, "--state-dir", daemon.StateDirectory, "--config-dir", daemon.ConfigDirectory]);

        Assert.Equal(1, exit);
        Assert.Contains("reservations.db is corrupt or unreadable", output);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("UPDATE persistent_consumer SET id = 5000000000", "invalid consumer: id 5000000000")]
    [InlineData("UPDATE persistent_consumer SET name = printf('%.*c', 70000, 'x')", "a name of 70000 characters")]
    [InlineData("UPDATE persistent_reservation SET created_by_uid = -1", "created by uid -1")]
    public async Task CraftedStore_WithValuesNoCreateCouldWrite_StopsTheDaemonWithTheCorruptStoreMessage(string tampering, string named)
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        Assert.Equal(0, (await Cli(daemon, "add", "--protocol", "tcp", "--start", "9300", "--count", "1", "--allow-user", "nobody")).ExitCode);
        Assert.Equal(0, await daemon.StopAsync());
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(daemon.StateDirectory, "reservations.db")};Pooling=False"))
        {
            connection.Open();
            using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
            command.CommandText = tampering;
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", daemon.SocketPath, "--state-dir", daemon.StateDirectory, "--config-dir", daemon.ConfigDirectory], timeout: TimeSpan.FromSeconds(20));

        Assert.True(exit == 1 && !output.Contains("Unhandled", StringComparison.Ordinal), output);
        Assert.Contains("reservations.db is corrupt or unreadable", output);
        Assert.Contains(named, output);
    }

    private static Task<(int ExitCode, string Output)> Cli(DaemonProcess daemon, params string[] arguments)
        => ChildProcess.RunAsync(Artifacts.Cli, arguments, daemon.ClientEnvironment);
}
