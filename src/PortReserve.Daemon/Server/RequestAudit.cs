using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The one place where refusals (of requests and of connections) are counted, by error kind, and logged with who asked
/// and why not, and that decides whether a line about an unprivileged user's reservations is logged. Counting is exact;
/// logging is rate-limited per uid (<see cref="LinesPerWindow"/> lines in each <see cref="Window"/>; administrators'
/// changes are always logged), and what a window held back is reported in one line with its count, so that a user
/// flooding the daemon with requests cannot flood its log (or the journal's disk) too.
/// </summary>
internal sealed class RequestAudit : IDisposable
{
    public const int LinesPerWindow = 20;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly DaemonCounters _counters;
    private readonly ILogger _logger;
    private readonly Dictionary<uint, int> _loggedThisWindow = [];
    private readonly Dictionary<uint, int> _suppressed = [];
    private readonly ITimer _windows;

    public RequestAudit(DaemonCounters counters, ILogger logger, TimeProvider time)
    {
        _counters = counters;
        _logger = logger;
        _windows = time.CreateTimer(_ => NextWindow(), null, Window, Window);
    }

    /// <summary>Counts and logs <paramref name="refusal"/> of <paramref name="operation"/> for the process <paramref name="pid"/>; returns it.</summary>
    public Refusal Refused(Refusal refusal, string operation, int pid, uint uid)
    {
        _counters.OnRefused(refusal.Kind);
        if (MayLog(uid))
        {
            DaemonLog.Refused(_logger, operation, pid, uid, refusal.Kind, refusal.Message);
        }

        return refusal;
    }

    /// <summary>Logs a connection turned away at a limit.</summary>
    public void ConnectionRefused(int pid, uint uid, string reason)
    {
        if (MayLog(uid))
        {
            DaemonLog.ConnectionRefused(_logger, pid, uid, reason);
        }
    }

    /// <summary>Logs a connection closed for breaking the protocol.</summary>
    public void ProtocolViolation(long connectionId, int pid, uint uid, string reason)
    {
        if (MayLog(uid))
        {
            DaemonLog.ProtocolViolation(_logger, connectionId, pid, uid, reason);
        }
    }

    /// <summary>A bind the hook refused: logged within the uid's share of lines like any refusal.</summary>
    public bool MayLogRefusedBind(uint uid) => MayLog(uid);

    /// <summary>Whether a line about a change that <paramref name="principal"/> made, or made to its reservations, is logged.</summary>
    public bool MayLogChange(Principal principal) => principal.IsAdministrator || MayLog(principal.Uid);

    public void Dispose()
    {
        _windows.Dispose();
        NextWindow();
    }

    private bool MayLog(uint uid)
    {
        lock (_loggedThisWindow)
        {
            int logged = _loggedThisWindow.GetValueOrDefault(uid);
            if (logged < LinesPerWindow)
            {
                _loggedThisWindow[uid] = logged + 1;
                return true;
            }

            _suppressed[uid] = _suppressed.GetValueOrDefault(uid) + 1;
            return false;
        }
    }

    private void NextWindow()
    {
        KeyValuePair<uint, int>[] suppressed;
        lock (_loggedThisWindow)
        {
            suppressed = [.. _suppressed];
            _suppressed.Clear();
            _loggedThisWindow.Clear();
        }

        foreach ((uint uid, int count) in suppressed)
        {
            DaemonLog.RefusalsSuppressed(_logger, count, uid, LinesPerWindow, Window.TotalSeconds);
        }
    }
}
