using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace PortReserve.Benchmarks;

/// <summary>
/// Grants per second through the portserver protocol: Debian's portserver (python3-portpicker) and portreserved's
/// endpoint, driven by the same client in the same run. Grants are made for a helper process that lives through the run.
/// </summary>
internal static class PortServerBenchmark
{
    public static async Task<(double Debian, double Ours)> RunAsync(Daemon daemon, string oursAddress, int grants)
    {
        using Process holder = Process.Start(new ProcessStartInfo("sleep", "600"))!;
        string debianAddress = $"@prb-debian-{Environment.ProcessId}";
        using Process debian = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["/usr/bin/portserver", "--portserver_address", debianAddress])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        debian.BeginErrorReadLine();
        debian.BeginOutputReadLine();
        try
        {
            await WaitListeningAsync(debianAddress);
            double debianRate = await GrantsPerSecondAsync(debianAddress, holder.Id, grants);
            double oursRate = await GrantsPerSecondAsync(oursAddress, holder.Id, grants);
            return (debianRate, oursRate);
        }
        finally
        {
            debian.Kill();
            holder.Kill();
            await Task.WhenAll(debian.WaitForExitAsync(), holder.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(30));
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
