using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>The one place where a refused request is counted (by error kind) and logged (with who asked and why not).</summary>
internal sealed class RequestAudit(DaemonCounters counters, ILogger logger)
{
    /// <summary>Counts and logs <paramref name="refusal"/> of <paramref name="operation"/> for the process <paramref name="pid"/>; returns it.</summary>
    public Refusal Refused(Refusal refusal, string operation, int pid, uint uid)
    {
        counters.OnRefused(refusal.Kind);
        DaemonLog.Refused(logger, operation, pid, uid, refusal.Kind, refusal.Message);
        return refusal;
    }
}
