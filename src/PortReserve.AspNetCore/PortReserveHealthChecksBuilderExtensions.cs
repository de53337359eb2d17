using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PortReserve.AspNetCore;

/// <summary>A health check for the app's reserved ports: <c>services.AddHealthChecks().AddPortReservation()</c>.</summary>
public static class PortReserveHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that is healthy while every reserved endpoint Kestrel listens on still holds its reservation, and
    /// unhealthy once one was lost (the connection to portreserved broke).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name (default <c>portreserve</c>).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddPortReservation(this IHealthChecksBuilder builder, string name = "portreserve")
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<ReservedListeners>();
        return builder.AddCheck<ReservedListenersHealthCheck>(name, HealthStatus.Unhealthy, ["portreserve"]);
    }
}
