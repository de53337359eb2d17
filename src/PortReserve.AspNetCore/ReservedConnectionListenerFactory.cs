using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PortReserve.Interop;

namespace PortReserve.AspNetCore;

/// <summary>
/// Binds Kestrel's <see cref="ReservedEndPoint"/>s while Kestrel starts its endpoints, so that a missing daemon or a
/// taken block fails the host's start: it acquires the runtime reservation (or looks up the persistent one), associates
/// a socket with it, binds it from the block, and hands it to Kestrel's socket transport, which listens on it. The
/// listener reports the address actually bound, which is what "Now listening on" and IServerAddressesFeature show.
/// Other endpoints are left to the transports Kestrel already has.
/// </summary>
internal sealed partial class ReservedConnectionListenerFactory(
    PortReservationClientProvider clients, ReservedListeners listeners, IHostApplicationLifetime lifetime, IOptions<SocketTransportOptions> transportOptions, ILoggerFactory loggerFactory)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketTransportFactory _transport = new(transportOptions, loggerFactory);
    private readonly ILogger _logger = loggerFactory.CreateLogger("PortReserve.AspNetCore");

    public bool CanBind(EndPoint endpoint) => endpoint is ReservedEndPoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ReservedListenOptions options = (endpoint as ReservedEndPoint ?? throw new NotSupportedException($"{endpoint} is not a reserved endpoint")).Options;
        PortReservationClient client = await clients.GetClientAsync(cancellationToken).ConfigureAwait(false);
        PortReservation? runtime = null;
        var socket = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (options.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (options.Persistent)
            {
                ulong token = await client.LookupPersistentAsync(PortReservationProtocol.Tcp, options.StartPort, options.Count, cancellationToken).ConfigureAwait(false);
                await client.AssociateAsync(socket, token, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                runtime = await client.AcquireAsync(PortReservationProtocol.Tcp, options.StartPort, options.Count, cancellationToken).ConfigureAwait(false);
                runtime.Associate(socket);
            }

            socket.BindReserved(new IPEndPoint(options.Address, options.Port));
            var bound = (IPEndPoint)socket.LocalEndPoint!;

            // The transport takes over a duplicate of the descriptor; this socket (and its copy) closes as usual.
            int handle = Libc.Dup((int)socket.SafeHandle.DangerousGetHandle());
            if (handle < 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }

            IConnectionListener listener = await _transport.BindAsync(new FileHandleEndPoint((ulong)handle, FileHandleType.Tcp), cancellationToken).ConfigureAwait(false);
            if (runtime is null)
            {
                Log.ListeningPersistent(_logger, bound, options.ToString());
            }
            else
            {
                Log.ListeningRuntime(_logger, bound, options.ToString(), runtime.Token);
            }

            // A runtime reservation is lost when no daemon comes back in time, or the one that does no longer has it; a
            // persistent one lives in the daemon's store, and is only as good as the connection to it.
            CancellationToken lost = runtime?.Lost ?? client.ConnectionLost;
            var entry = new ReservedListeners.Entry(options, bound, lost);
            listeners.Add(entry);
            CancellationTokenRegistration onLost = lost.Register(() => Lost(options, bound));
            return new ReservedConnectionListener(listener, bound, socket, runtime, () =>
            {
                onLost.Dispose();
                listeners.Remove(entry);
            });
        }
        catch
        {
            socket.Dispose();
            if (runtime is not null)
            {
                await runtime.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private void Lost(ReservedListenOptions options, IPEndPoint bound)
    {
        if (options.StopHostWhenLost)
        {
            // A failure, so that Restart=on-failure (or any supervisor) starts the app again: EX_TEMPFAIL, try again.
            Log.LostStopping(_logger, bound, options.ToString());
            if (Environment.ExitCode == 0)
            {
                Environment.ExitCode = ReservedListenOptions.LostExitCode;
            }

            lifetime.StopApplication();
        }
        else
        {
            Log.LostServing(_logger, bound, options.ToString());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "listening on {EndPoint} from a runtime reservation ({Reservation}, token {Token}), held while this app runs")]
        public static partial void ListeningRuntime(ILogger logger, IPEndPoint endPoint, string reservation, ulong token);

        [LoggerMessage(4, LogLevel.Information, "listening on {EndPoint} from the persistent reservation {Reservation}")]
        public static partial void ListeningPersistent(ILogger logger, IPEndPoint endPoint, string reservation);

        [LoggerMessage(2, LogLevel.Error, "the reservation behind {EndPoint} ({Reservation}) was lost: portreserved did not come back within the client's ReconnectTimeout, or the daemon that came back no longer has it, so nothing holds the port for this app any more; stopping the host with exit code 75 (ReservedListenOptions.StopHostWhenLost) so that it can be restarted on a port it holds")]
        public static partial void LostStopping(ILogger logger, IPEndPoint endPoint, string reservation);

        [LoggerMessage(3, LogLevel.Error, "the reservation behind {EndPoint} ({Reservation}) was lost: portreserved did not come back within the client's ReconnectTimeout, or the daemon that came back no longer has it, so nothing holds the port for this app any more; still serving on it (ReservedListenOptions.StopHostWhenLost is false)")]
        public static partial void LostServing(ILogger logger, IPEndPoint endPoint, string reservation);
    }
}
