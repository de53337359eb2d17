using System.Diagnostics;
using System.Text;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>A real child process with its output collected line by line, for the daemon, the CLI, peers and samples.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string?> Found)> _waiters = [];
    private Task _exited = Task.CompletedTask;
    private int _disposed;
    private bool _ended;

    private ChildProcess(Process process) => _process = process;

    /// <summary>Completes when the process has exited (no timeout of its own: combine it with one).</summary>
    public Task Exited => _exited;

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
        child._exited = process.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => child.EndOfOutput(), TaskScheduler.Default);
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

    /// <summary>
    /// Waits for the first output line that satisfies <paramref name="match"/>, already written or still to come. Output
    /// ends when the last process holding it (the process, or a child it left behind) is gone; a line not seen by then
    /// never comes.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var found = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (_ended)
            {
                throw NoSuchLine();
            }

            _waiters.Add((match, found));
        }

        return await found.Task.WithTimeout(timeout) ?? throw NoSuchLine();
    }

    private InvalidOperationException NoSuchLine() => new($"process exited ({_process.ExitCode}) without the expected output:\n{Output}");

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Writes a line to the process's input (started with redirectInput), for it or whoever inherited its input.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public void Kill9() => _process.Kill();

    public void Signal(int signal) => Signals.Send(_process.Id, signal);

    /// <summary>Kills the process (and what it started) if it still runs; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WithTimeout();
        }

        _process.Dispose();
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
            _waiters.RemoveAll(w => w.Match(line) && w.Found.TrySetResult(line));
        }
    }

    /// <summary>The process exited and its output is read: whoever still waits for a line waits in vain.</summary>
    private void EndOfOutput()
    {
        _process.WaitForExit();
        lock (_output)
        {
            _ended = true;
            foreach ((_, TaskCompletionSource<string?> found) in _waiters)
            {
                found.TrySetResult(null);
            }

            _waiters.Clear();
        }
    }
}
