using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace PortReserve.Daemon;

/// <summary>
/// The daemon's log lines, one per event. On a terminal or in a file: a UTC timestamp, the level and the message. Under
/// systemd (<c>JOURNAL_STREAM</c> set: stderr goes to the journal, which stamps each line itself): the syslog priority
/// as a <c>&lt;N&gt;</c> prefix and the message, so that <c>journalctl -p warning -u portreserved</c> filters by level.
/// Neither shows the category or the event id, which read as a program name and a pid (<c>portreserved[15]</c>).
/// </summary>
internal sealed class DaemonLogFormatter(IOptionsMonitor<DaemonLogFormatter.Settings> settings) : ConsoleFormatter(Name)
{
    public new const string Name = "portreserved";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is { } exception)
        {
            message = $"{message}: {exception}";
        }

        // One event, one line: a journal entry per line would split an exception's stack into unrelated entries.
        message = message.ReplaceLineEndings(" | ");
        if (settings.CurrentValue.Journal)
        {
            textWriter.Write($"<{Priority(logEntry.LogLevel)}>{message}{Environment.NewLine}");
        }
        else
        {
            string timestamp = settings.CurrentValue.Clock.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
            textWriter.Write($"{timestamp} {Level(logEntry.LogLevel)}: {message}{Environment.NewLine}");
        }
    }

    /// <summary>True when stderr is the journal's stream (systemd names it in <c>JOURNAL_STREAM</c>).</summary>
    public static bool WritesToJournal() => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));

    // syslog(3) priorities, as systemd's own console formatter maps them.
    private static int Priority(LogLevel level) => level switch
    {
        LogLevel.Critical => 2,
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Information => 6,
        _ => 7,
    };

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Critical => "crit",
        LogLevel.Error => "fail",
        LogLevel.Warning => "warn",
        LogLevel.Information => "info",
        LogLevel.Debug => "dbug",
        _ => "trce",
    };

    public sealed class Settings : ConsoleFormatterOptions
    {
        public bool Journal { get; set; }

        public TimeProvider Clock { get; set; } = TimeProvider.System;
    }
}
