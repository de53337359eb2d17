using Microsoft.Extensions.Logging;

namespace PortReserve.Fuzz;

/// <summary>
/// Counts the daemon's error-level log lines (an unexpected failure of request handling) and keeps the first few. It is
/// its own provider, so the daemon can be started with it as its only log sink.
/// </summary>
internal sealed class CountingLogger : ILogger, ILoggerProvider
{
    private int _errors;

    public int Errors => Volatile.Read(ref _errors);

    public List<string> FirstErrors { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel < LogLevel.Error)
        {
            return;
        }

        Interlocked.Increment(ref _errors);
        lock (FirstErrors)
        {
            if (FirstErrors.Count < 5)
            {
                FirstErrors.Add(formatter(state, exception) + (exception is null ? string.Empty : ": " + exception));
            }
        }
    }
}
