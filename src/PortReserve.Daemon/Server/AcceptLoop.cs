using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The accept discipline every listener of the daemon shares: a disposed or aborted listener means shutdown, any other
/// accept error (out of descriptors, a peer that vanished mid-accept) means pause briefly and accept again.
/// </summary>
internal static class AcceptLoop
{
    public static async Task RunAsync(Socket listener, Action<Socket> serve, ILogger logger, CancellationToken stopping)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                break;
            }
            catch (SocketException e)
            {
                DaemonLog.AcceptFailed(logger, e.SocketErrorCode);
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            serve(accepted);
        }
    }
}
