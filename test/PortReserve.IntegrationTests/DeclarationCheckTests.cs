using System.Text.Json;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary><c>portreserve check</c> as CI and configuration management run it: no daemon, exit statuses, FILE:LINE output.</summary>
public sealed class DeclarationCheckTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prt-check-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact(Timeout = 60_000)]
    public async Task ValidFiles_ExitZero_WithoutADaemon()
    {
        Write("10-web.conf", "# web\ntcp 8080 allow-user=root\nudp 5000-5019 allow-group=root\n");
        Write("20-metrics.conf", "tcp 9100-9101\n");

        (int exit, string output) = await Check("--config-dir", _directory);

        Assert.Equal(0, exit);
        Assert.Equal("3 reservations in 2 files: no problems", output.Trim());
    }

    [Fact(Timeout = 60_000)]
    public async Task ADirectoryNamedAsAFile_IsAUsageError_PointingAtConfigDir()
    {
        Write("10-web.conf", "tcp 8080\n");

        (int exit, string output) = await Check(_directory);

        Assert.Equal(2, exit);
        Assert.Contains($"{_directory} is a directory: portreserve check --config-dir {_directory} checks its *.conf files", output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Problems_ExitEight_OneFileLineReasonEach_InReadingOrder()
    {
        string web = Write("10-web.conf", "tcp 8080\ntcp 8080-8081\n");
        string bad = Write("20-bad.conf", "tcp 80 allow-user=no-such-user-here\nudp 70000\n");

        (int exit, string output) = await Check(web, bad);

        Assert.Equal(8, exit);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{web}:2: tcp 8080-8081 overlaps tcp 8080 declared at {web}:1; remove one of them", lines[0]);
        Assert.Equal($"{bad}:1: allow-user=no-such-user-here: no such user on this machine", lines[1]);
        Assert.Equal($"{bad}:2: 70000 is outside 1-65535", lines[2]);
        Assert.StartsWith("3 problems in 2 files; 1 valid reservation would apply", lines[3], StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Json_ListsFilesReservationsAndProblems()
    {
        string file = Write("10.conf", "tcp 80\nbogus\n");

        (int exit, string output) = await Check("--json", file);

        Assert.Equal(8, exit);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.Equal(1, json.RootElement.GetProperty("reservations").GetInt32());
        JsonElement problem = Assert.Single(json.RootElement.GetProperty("problems").EnumerateArray());
        Assert.Equal((file, 2), (problem.GetProperty("file").GetString(), problem.GetProperty("line").GetInt32()));
        Assert.StartsWith("'bogus' is not a protocol", problem.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task AMissingFile_ExitsEight_AndFilesWithDirectories_IsAUsageError()
    {
        (int missing, string output) = await Check(Path.Combine(_directory, "absent.conf"));
        (int usage, _) = await Check("--config-dir", _directory, Path.Combine(_directory, "absent.conf"));

        Assert.Equal(8, missing);
        Assert.Contains("absent.conf: cannot be read", output, StringComparison.Ordinal);
        Assert.Equal(2, usage);
    }

    [Fact(Timeout = 60_000)]
    public async Task Help_DocumentsTheFormat()
    {
        (int exit, string output) = await Check("--help");

        Assert.Equal(0, exit);
        Assert.Contains("udp         5000-5019       allow-group=media", output, StringComparison.Ordinal);
        Assert.Contains("exits 8", output, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> Check(params string[] arguments)
        => ChildProcess.RunAsync(Artifacts.Cli, ["check", .. arguments], new Dictionary<string, string?> { ["PORTRESERVE_SOCKET"] = "/nonexistent/portreserved.sock" });

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
