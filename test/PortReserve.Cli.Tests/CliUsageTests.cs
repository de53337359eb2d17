using PortReserve.Cli;

namespace PortReserve.Cli.Tests;

public sealed class CliUsageTests
{
    [Theory]
    [InlineData("bogus")]
    [InlineData("show", "--protocol", "sctp")]
    [InlineData("run", "--tcp", "1")]
    public async Task RunAsync_UsageError_ExitsTwoWithMessageOnStderr(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(args, output, error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("portreserve: ", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, output.ToString());
    }

    [Theory]
    [InlineData("--timeout", "--timeout", "x", "status")]
    [InlineData("--timeout", "--timeout", "0", "status")]
    [InlineData("--start", "add", "--protocol", "tcp", "--start", "x", "--count", "1")]
    [InlineData("--start", "lookup", "--protocol", "tcp", "--start", "0", "--count", "1")]
    [InlineData("--count", "delete", "--protocol", "udp", "--start", "5000", "--count", "-1")]
    [InlineData("--count 1000", "add", "--protocol", "tcp", "--start", "65000", "--count", "1000")]
    [InlineData("--tcp-at", "run", "--tcp-at", "70000:1", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp", "--", "true")]
    [InlineData("--listen", "run", "--listen", "sctp:80", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp:70000", "--", "true")]
    [InlineData("--listen", "run", "--listen", "udp:1.2.3:53", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp:::1:80", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp::80", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp:0177.0.0.1:80", "--", "true")]
    [InlineData("--listen", "run", "--listen", "tcp:0x7f.0.0.1:80", "--", "true")]
    public async Task RunAsync_ABadNumber_IsAUsageErrorNamingTheOption_InEveryCommand(string named, params string[] args)
    {
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(args, new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AnUnknownCommand_IsOneErrorListingTheCommands()
    {
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(["frobnicate"], new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal(["portreserve: 'frobnicate' is not a command; the commands are add, lookup, delete, show, status, run, reload, check", "Try 'portreserve --help'."], error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("portreserve: 'bogus' is not a command; the commands are add, lookup, delete, show, status, run, reload, check", "help", "bogus")]
    [InlineData("portreserve: unknown option '-v'", "-v")]
    [InlineData("portreserve: check takes no --socket: it reads files and never asks the daemon", "--socket", "/run/x.sock", "check")]
    [InlineData("portreserve: check takes no --timeout: it reads files and never asks the daemon", "--timeout", "5", "check")]
    [InlineData("portreserve: InvalidArgument: --config-dir /nonexistent/reservations.d: no such directory", "check", "--config-dir", "/nonexistent/reservations.d")]
    public async Task RunAsync_AMistake_IsOneUsageError_SayingWhat(string expected, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(args, output, error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal(expected, error.ToString().Split(Environment.NewLine)[0]);
        Assert.DoesNotContain("Required command", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, output.ToString());
    }

    [Theory]
    [InlineData("help")]
    [InlineData("help", "run")]
    public async Task RunAsync_Help_IsTheHelpOption(params string[] args)
    {
        var output = new StringWriter();

        int exit = await CliApplication.RunAsync(args, output, new StringWriter(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains(args.Length == 1 ? "reserve TCP and UDP ports" : "Hold runtime reservations while a command runs", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("lookup")]
    [InlineData("show")]
    [InlineData("run")]
    [InlineData("check")]
    [InlineData("status")]
    public async Task CommandHelp_SaysWhatEachOptionTakes_NotTheOptionsOwnName(string command)
    {
        var help = new StringWriter();

        int exit = await CliApplication.RunAsync([command, "--help"], help, new StringWriter(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Success, exit);
        string options = help.ToString()[help.ToString().IndexOf("Options:", StringComparison.Ordinal)..];
        Assert.DoesNotMatch(@"--[a-z-]+ <[a-z][a-z-]*>", options);
    }

    [Fact]
    public async Task CheckHelp_OffersNoDaemonOptions_AndCheckRefusesThem_InsteadOfReadingThemAsFiles()
    {
        var help = new StringWriter();
        var error = new StringWriter();

        int helpExit = await CliApplication.RunAsync(["check", "--help"], help, new StringWriter(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        int exit = await CliApplication.RunAsync(["check", "--socket", "/run/x.sock"], new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Success, helpExit);
        Assert.Contains("--config-dir", help.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("--socket", help.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("--timeout", help.ToString(), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("portreserve: check has no option '--socket'", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--socket", "/nonexistent/portreserved.sock", "status")]
    [InlineData("status", "--socket", "/nonexistent/portreserved.sock")]
    public async Task DaemonOptions_AreTakenBeforeOrAfterTheCommand(params string[] args)
    {
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(args, new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.ServiceUnavailable, exit);
        Assert.Contains("tried /nonexistent/portreserved.sock", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_RunWithAnUnknownOption_SaysSo_InsteadOfRunningIt()
    {
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(["run", "--lisen", "tcp:80", "--", "true"], new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("portreserve: run has no option '--lisen'", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_RunWithBadBlock_ExitsTwoNamingTheOption()
    {
        var error = new StringWriter();

        int exit = await CliApplication.RunAsync(["run", "--udp-at", "70000:1", "--", "true"], new StringWriter(), error, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("--udp-at", error.ToString());
    }

    [Fact]
    public async Task RunAsync_JsonErrorWhenNoDaemon_PrintsKindCodeAndMessage()
    {
        var output = new StringWriter();

        int exit = await CliApplication.RunAsync(["status", "--json", "--socket", "/nonexistent/portreserve.sock"], output, new StringWriter(), TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.ServiceUnavailable, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        Assert.Equal("ServiceUnavailable", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(10050, json.RootElement.GetProperty("code").GetInt32());
        Assert.Contains("/nonexistent/portreserve.sock", json.RootElement.GetProperty("message").GetString());
    }
}
