using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// Finds the daemon: connects to the first candidate socket that answers and is served by whom it must be, and makes
/// the connection; when none does, says where it looked and how to start the daemon.
/// </summary>
internal static class DaemonConnector
{
    /// <summary>How often a connect is retried while the daemon's backlog is full (about two seconds in all).</summary>
    private const int BusyRetries = 50;

    /// <summary>How long one connect waits for room in the daemon's backlog before it gives the thread back for a while.</summary>
    private const int BusyWaitMilliseconds = 10;

    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>
    /// Connects to the first candidate socket that answers; when none does, says where it looked and how to start the
    /// daemon. A socket the client found by itself (<paramref name="trustedServersOnly"/>) must be served by root or by
    /// this user: another user can make the per-user place under /tmp first, and its daemon would hand out ports it means
    /// to take. A path the caller named is its own choice. A reconnect (<paramref name="requiredServerUid"/>) takes only a
    /// socket served by the uid that served the first connection: while the daemon is away, anyone may be listening there.
    /// </summary>
    public static async ValueTask<DaemonConnection> ConnectAsync(IReadOnlyList<string> candidates, bool trustedServersOnly, TimeSpan requestTimeout, CancellationToken cancellationToken, uint? requiredServerUid = null)
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
                    cancellationToken.ThrowIfCancellationRequested();
                    // The socket stays blocking for the reader thread, and no asynchronous call is ever made on it (that would
                    // make it non-blocking for good). A connect waits only while the daemon's backlog is full, and the send
                    // timeout bounds that wait: it then fails with EAGAIN, and is retried below. A Unix socket gives nothing
                    // better to wait on: a non-blocking connect to a full backlog fails with EAGAIN at once, and poll(2)
                    // reports the refused socket ready (POLLOUT | POLLHUP) before the backlog has room. The blocking connect
                    // waits in the kernel for the daemon's next accept.
                    socket.SendTimeout = BusyWaitMilliseconds;
                    socket.Connect(new UnixDomainSocketEndPoint(path));
                    socket.SendTimeout = 0;
                    uint? serverUid = ReadServerUid(socket);
                    // A server whose uid the kernel would not tell is not trusted either.
                    if (trustedServersOnly && serverUid != 0 && serverUid != SocketLocations.EffectiveUid)
                    {
                        socket.Dispose();
                        failures.Add($"{path} (served by uid {serverUid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, neither root nor you: refused, since another user's daemon could hand out ports it means to take; name it with {SocketLocations.EnvironmentVariable} or --socket if you trust it)");
                        break;
                    }

                    if (requiredServerUid is { } required && serverUid != required)
                    {
                        socket.Dispose();
                        failures.Add($"{path} (served by uid {serverUid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, not uid {required} as before: refused, since whoever listens there now is not the daemon that granted the reservations)");
                        break;
                    }

                    return new DaemonConnection(socket, path, serverUid, requestTimeout);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TryAgain or SocketError.WouldBlock && attempt < BusyRetries)
                {
                    // The daemon's accept backlog stayed full for the whole wait: busy, not absent.
                    socket.Dispose();
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1 << Math.Min(attempt, 5), 30)), cancellationToken).ConfigureAwait(false);
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
            $"Start it (portreserved, or systemctl start portreserved), or point {SocketLocations.EnvironmentVariable} at the socket it listens on (a program can also set PortReservationClientOptions.SocketPath; portreserve takes --socket).",
            lastError);
    }

    /// <summary>The uid of the process that made the listening socket (<c>SO_PEERCRED</c>); null if the kernel would not say.</summary>
    private static uint? ReadServerUid(Socket socket)
    {
        // struct ucred: pid, uid, gid, 32 bits each.
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) == credentials.Length ? BitConverter.ToUInt32(credentials[4..8]) : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static string Describe(string path, SocketException error) => error.SocketErrorCode switch
    {
        _ when !File.Exists(path) && !Directory.Exists(Path.GetDirectoryName(path)) => "no such directory",
        _ when !File.Exists(path) => "no such socket",
        SocketError.ConnectionRefused => "connection refused: nothing listens there",
        SocketError.AccessDenied => "permission denied",
        SocketError.TryAgain or SocketError.WouldBlock => "busy: its connection backlog stayed full",
        SocketError.ProtocolType or SocketError.ProtocolNotSupported => "not a portreserved socket",
        _ => error.Message,
    };
}
