using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Metrics;

/// <summary>
/// Serves the Prometheus text exposition over plain HTTP on a Unix socket path or a loopback TCP address
/// (<c>--metrics-listen</c>). One request per connection; every GET gets the metrics. Only loopback addresses are
/// accepted: the metrics are for the machine's own monitoring agent, not the network. A scraper needs one connection
/// at a time; beyond <see cref="MaxConnections"/> at once (anyone on the machine may connect) they are closed unanswered,
/// so that this endpoint cannot hold the daemon's descriptors.
/// </summary>
internal sealed class MetricsEndpoint : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private const int Backlog = 64;
    private const int MaxConnections = 16;
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(5);

    private readonly DaemonMetrics _metrics;
    private readonly AsyncEndpoint _accepting;
    private int _open;

    private MetricsEndpoint(EventLoop loop, string address, DaemonMetrics metrics, ILogger logger)
    {
        _metrics = metrics;
        IPEndPoint? endPoint = ParseTcp(address);
        Socket socket = endPoint is null ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _accepting = AsyncEndpoint.Start(loop, socket, s => Bind(s, address, endPoint), Backlog, ServeAsync, $"--metrics-listen {address}", logger);
    }

    /// <summary>Serves the metrics on <paramref name="address"/>: a Unix socket path, or a loopback host:port.</summary>
    public static MetricsEndpoint Start(EventLoop loop, string address, DaemonMetrics metrics, ILogger logger) => new(loop, address, metrics, logger);

    /// <summary>Parses a loopback "host:port" (IPv4 or [IPv6]); null for a Unix socket path; throws for any other host.</summary>
    public static IPEndPoint? ParseTcp(string address)
    {
        if (address.StartsWith('/'))
        {
            return null;
        }

        if (!IPEndPoint.TryParse(address, out IPEndPoint? endPoint) || endPoint.Port == 0)
        {
            throw new InvalidOperationException($"--metrics-listen '{address}' is neither a socket path (starting with /) nor a loopback address with a port, like 127.0.0.1:9405");
        }

        return IPAddress.IsLoopback(endPoint.Address)
            ? endPoint
            : throw new InvalidOperationException($"--metrics-listen '{address}' is not a loopback address; metrics are served on loopback or a Unix socket only");
    }

    public ValueTask DisposeAsync() => _accepting.DisposeAsync();

    /// <summary>A loopback address is bound as it is; a path gets a socket file with the umask's mode.</summary>
    private static UnixSocketFile? Bind(Socket socket, string address, IPEndPoint? endPoint)
    {
        if (endPoint is null)
        {
            return UnixSocketFile.Bind(socket, address, mode: null, "--metrics-listen");
        }

        socket.Bind(endPoint);
        return null;
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        using (client)
        {
            if (Interlocked.Increment(ref _open) > MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                return;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                timeout.CancelAfter(s_requestTimeout);
                string? method = await ReadRequestMethodAsync(client, timeout.Token).ConfigureAwait(false);
                string response = method == "GET"
                    ? Response("200 OK", PrometheusExposition.ContentType, PrometheusExposition.Render(_metrics))
                    : Response(method is null ? "400 Bad Request" : "405 Method Not Allowed", "text/plain; charset=utf-8", "GET the metrics\n");
                await client.SendAsync(Encoding.UTF8.GetBytes(response), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A scraper that went away or stalled; nothing to tell it.
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }
    }

    /// <summary>Reads the request head (up to the blank line) and returns its method, or null when it is not HTTP.</summary>
    private static async Task<string?> ReadRequestMethodAsync(Socket client, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (length < buffer.Length && buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
        {
            int received = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                break;
            }

            length += received;
        }

        string head = Encoding.ASCII.GetString(buffer, 0, length);
        int space = head.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && head.Contains(" HTTP/", StringComparison.Ordinal) ? head[..space] : null;
    }

    private static string Response(string status, string contentType, string body)
        => $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
}
