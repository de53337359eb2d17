using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PortReserve.AspNetCore;

/// <summary>Registering the app's shared connection to portreserved.</summary>
public static class PortReserveServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PortReservationClientProvider"/>, the app's one connection to portreserved, configured with
    /// the options pattern: first the configuration section <c>PortReserve</c> (<c>"SocketPath"</c>, or the environment
    /// variable <c>PortReserve__SocketPath</c>), then <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the daemon's socket; by default the client's own ($PORTRESERVE_SOCKET, then the standard paths).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddPortReservationClient(this IServiceCollection services, Action<PortReservationClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(PortReservationClientProvider)))
        {
            services.AddOptions<PortReservationClientOptions>().BindConfiguration("PortReserve");
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<PortReservationClientProvider>();
        return services;
    }
}
