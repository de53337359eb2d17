using System.Diagnostics;
using System.Text;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>A real child process with its output collected line by line, for the daemon, the CLI, peers and samples.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _lines = [];

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything written to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ChildProcess Start(string executable, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, bool redirectInput = false)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a program to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string executable, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        await using ChildProcess child = Start(executable, arguments, environment);
        int exitCode = await child.WaitForExitAsync(timeout);
        return (exitCode, child.Output);
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WithTimeout(timeout);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits for the first output line that satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        string? found = null;
        await Timeouts.Eventually(() => (found = FindLine(match)) is not null || _process.HasExited, "a matching output line", timeout);
        return found ?? FindLine(match) ?? throw new InvalidOperationException($"process exited ({_process.ExitCode}) without the expected output:\n{Output}");
    }

    public void CloseInput() => _process.StandardInput.Close();

    public void Kill9() => _process.Kill();

    public void Signal(int signal) => Signals.Send(_process.Id, signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WithTimeout();
        }

        _process.Dispose();
    }

    private string? FindLine(Func<string, bool> match)
    {
        lock (_output)
        {
            return _lines.FirstOrDefault(match);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            _lines.Add(line);
        }
    }
}
