using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PortReserve.AspNetCore;

/// <summary>Putting Kestrel on reserved ports: <c>builder.WebHost.ListenReserved(...)</c>.</summary>
public static class PortReserveWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel listen on a reserved TCP port. When the host starts, a runtime reservation is acquired (a block at
    /// <see cref="ReservedListenOptions.StartPort"/>, or any free one), a socket is associated with it and bound from it,
    /// and Kestrel listens on that socket; the reservation is released when the host stops. With
    /// <see cref="ReservedListenOptions.Persistent"/>, an existing persistent reservation is looked up instead. A missing
    /// daemon or a taken block fails the host's start with a <see cref="PortReservationException"/>.
    /// </summary>
    /// <param name="builder">The web host builder (<c>WebApplicationBuilder.WebHost</c>).</param>
    /// <param name="configure">
    /// Chooses the block, address and port, after the configuration section <c>PortReserve:Listen</c> was read
    /// (appsettings.json, or environment variables like <c>PortReserve__Listen__StartPort</c>); without either, one free
    /// port on the loopback address.
    /// </param>
    /// <param name="listen">Configures the endpoint as for any Kestrel listener (HTTPS, protocols).</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder ListenReserved(this IWebHostBuilder builder, Action<ReservedListenOptions>? configure = null, Action<ListenOptions>? listen = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .ConfigureServices(services =>
            {
                services.AddPortReservationClient();
                services.TryAddSingleton<ReservedListeners>();
                services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, ReservedConnectionListenerFactory>());
            })
            .ConfigureKestrel((context, kestrel) =>
            {
                var options = new ReservedListenOptions();
                ReservedListenConfiguration.Bind(context.Configuration, options);
                configure?.Invoke(options);
                kestrel.Listen(new ReservedEndPoint(options), listen ?? (_ => { }));
            });
    }
}
