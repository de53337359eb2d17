using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

internal sealed partial class DaemonConnection
{
    /// <summary>How often a connect is retried while the daemon's backlog is full (about two seconds in all).</summary>
    private const int BusyRetries = 60;

    /// <summary>Connects to the first candidate socket that answers; when none does, says where it looked and how to start the daemon.</summary>
    public static async ValueTask<DaemonConnection> ConnectAsync(IReadOnlyList<string> candidates, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        SocketException? lastError = null;
        foreach (string path in candidates)
        {
            for (int attempt = 0; ; attempt++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                    return new DaemonConnection(socket, path);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TryAgain && attempt < BusyRetries)
                {
                    // The daemon's accept backlog is full (a Unix socket connect says EAGAIN rather than waiting): busy, not absent.
                    socket.Dispose();
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1 << Math.Min(attempt, 6), 50)), cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    lastError = e;
                    failures.Add($"{path} ({Describe(path, e)})");
                    break;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }
        }

        throw new PortReservationException(
            PortReservationErrorKind.ServiceUnavailable,
            $"portreserved is not running or not reachable: tried {string.Join(", then ", failures)}. " +
            $"Start it (portreserved, or systemctl start portreserved), or point {SocketLocations.EnvironmentVariable} or --socket at the socket it listens on.",
            lastError);
    }

    private static string Describe(string path, SocketException error) => error.SocketErrorCode switch
    {
        _ when !File.Exists(path) && !Directory.Exists(Path.GetDirectoryName(path)) => "no such directory",
        _ when !File.Exists(path) => "no such socket",
        SocketError.ConnectionRefused => "connection refused: nothing listens there",
        SocketError.AccessDenied => "permission denied",
        SocketError.TryAgain => "busy: its connection backlog stayed full",
        SocketError.ProtocolType or SocketError.ProtocolNotSupported => "not a portreserved socket",
        _ => error.Message,
    };
}
