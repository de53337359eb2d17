using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Metrics;

/// <summary>
/// Serves the Prometheus text exposition over plain HTTP on a Unix socket path or a loopback TCP address
/// (<c>--metrics-listen</c>). One request per connection; every GET gets the metrics. Only loopback addresses are
/// accepted: the metrics are for the machine's own monitoring agent, not the network.
/// </summary>
internal sealed class MetricsEndpoint(string address, DaemonMetrics metrics, ILogger logger) : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public string Address { get; } = address;

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

    public void Start()
    {
        if (ParseTcp(Address) is { } endPoint)
        {
            _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(endPoint);
        }
        else
        {
            UnixSocketFile.PrepareForBind(Address, SocketType.Stream);
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(Address));
        }

        _listener.Listen(64);
        _acceptLoop = AcceptLoopAsync(_listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        if (ParseTcp(Address) is null)
        {
            UnixSocketFile.Remove(Address);
        }

        _stopping.Dispose();
    }

    private Task AcceptLoopAsync(Socket listener) => AcceptLoop.RunAsync(listener, client => _ = ServeAsync(client), logger, _stopping.Token);

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(s_requestTimeout);
                string? method = await ReadRequestMethodAsync(client, timeout.Token).ConfigureAwait(false);
                string response = method == "GET"
                    ? Response("200 OK", PrometheusExposition.ContentType, PrometheusExposition.Render(metrics))
                    : Response(method is null ? "400 Bad Request" : "405 Method Not Allowed", "text/plain; charset=utf-8", "GET the metrics\n");
                await client.SendAsync(Encoding.UTF8.GetBytes(response), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A scraper that went away or stalled; nothing to tell it.
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
