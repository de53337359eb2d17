using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PortReserve.AspNetCore;

/// <summary>Healthy while every reserved endpoint still holds its reservation; names the ones that lost theirs.</summary>
internal sealed class ReservedListenersHealthCheck(ReservedListeners listeners) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ReservedListeners.Entry> entries = listeners.Snapshot();
        List<ReservedListeners.Entry> lost = [.. entries.Where(e => e.Lost.IsCancellationRequested)];
        HealthCheckResult result = lost.Count > 0
            ? new HealthCheckResult(
                context.Registration.FailureStatus,
                $"reservation lost for {string.Join(", ", lost.Select(e => e.Bound))}: the connection to portreserved broke, so nothing holds the port for this app")
            : HealthCheckResult.Healthy(entries.Count == 0
                ? "no reserved endpoint is listening"
                : $"reservations held for {string.Join(", ", entries.Select(e => $"{e.Bound} ({e.Options})"))}");
        return Task.FromResult(result);
    }
}
