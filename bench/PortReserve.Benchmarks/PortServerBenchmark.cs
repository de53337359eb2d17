using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace PortReserve.Benchmarks;

/// <summary>
/// Grants per second through the portserver protocol, all driven by the same client in the same run: Debian's
/// portserver (python3-portpicker), portreserved's endpoint, and a trivial responder that answers each request with the
/// next number and does nothing else, which shows the ceiling this client allows. Grants are made for a helper
/// process that lives through the run.
/// </summary>
internal sealed class PortServerBenchmark : IAsyncDisposable
{
    private readonly Process _holder;
    private readonly Process _debian;
    private readonly Socket _responder;
    private readonly Task _responding;

    private PortServerBenchmark(Process holder, Process debian, Socket responder, Task responding)
    {
        _holder = holder;
        _debian = debian;
        _responder = responder;
        _responding = responding;
    }

    public string DebianAddress { get; } = $"@prb-debian-{Environment.ProcessId}";

    public string ResponderAddress { get; } = $"@prb-trivial-{Environment.ProcessId}";

    public static async Task<PortServerBenchmark> StartAsync()
    {
        Process holder = Process.Start(new ProcessStartInfo("sleep", "600"))!;
        string debianAddress = $"@prb-debian-{Environment.ProcessId}";
        Process debian = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["/usr/bin/portserver", "--portserver_address", debianAddress])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        debian.BeginErrorReadLine();
        debian.BeginOutputReadLine();
        var responder = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        responder.Bind(new UnixDomainSocketEndPoint($"\0prb-trivial-{Environment.ProcessId}"));
        responder.Listen(512);
        var benchmark = new PortServerBenchmark(holder, debian, responder, RespondAsync(responder));
        await WaitListeningAsync(debianAddress);
        return benchmark;
    }

    /// <summary>Grants per second from the server at <paramref name="address"/>, for <paramref name="grants"/> sequential requests.</summary>
    public Task<double> GrantsPerSecondAsync(string address, int grants) => GrantsPerSecondAsync(address, _holder.Id, grants);

    public async ValueTask DisposeAsync()
    {
        _responder.Dispose();
        await _responding;
        _debian.Kill();
        _holder.Kill();
        await Task.WhenAll(_debian.WaitForExitAsync(), _holder.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(30));
        _debian.Dispose();
        _holder.Dispose();
    }

    /// <summary>Reads a request and answers it with the next number: no reservation, no kernel write, no pidfd.</summary>
    private static async Task RespondAsync(Socket listener)
    {
        int next = 20000;
        byte[] buffer = new byte[64];
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            {
                await client.ReceiveAsync(buffer, SocketFlags.None);
                await client.SendAsync(Encoding.ASCII.GetBytes($"{next++}\n"), SocketFlags.None);
            }
        }
    }

    private static async Task<double> GrantsPerSecondAsync(string address, int pid, int grants)
    {
        byte[] request = Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n");
        var ports = new HashSet<int>();
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < grants; i++)
        {
            ports.Add(await RequestAsync(address, request));
        }

        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return ports.Count == grants
            ? grants / seconds
            : throw new InvalidOperationException($"{address} handed out {ports.Count} distinct ports for {grants} requests");
    }

    /// <summary>What portpicker does: connect, send "PID\n", read the reply until the server closes.</summary>
    private static async Task<int> RequestAsync(string address, byte[] request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint("\0" + address[1..]));
        await socket.SendAsync(request, SocketFlags.None);
        byte[] buffer = new byte[64];
        int length = 0;
        int received;
        while ((received = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None)) > 0)
        {
            length += received;
        }

        return int.Parse(Encoding.ASCII.GetString(buffer, 0, length).Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task WaitListeningAsync(string address)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint("\0" + address[1..]));
                return;
            }
            catch (SocketException) when (attempt < 500)
            {
                await Task.Delay(20);
            }
        }
    }
}
