using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Compat;

/// <summary>
/// Google's portserver protocol on an AF_UNIX stream socket (a leading '@' is the abstract namespace): a client writes
/// a pid in ASCII decimal, optionally with a newline, and reads back "PORT\n"; a refusal is silence and a close. Each
/// grant is a one-port runtime reservation free on TCP and UDP, owned by that pid, and released when it exits.
/// </summary>
internal sealed class PortServerListener(string address, ReservationService service, ProcessExitWatcher watcher, ILogger logger) : IAsyncDisposable
{
    /// <summary>A pid is at most 10 digits; anything longer than this is not a request.</summary>
    private const int MaxRequestBytes = 32;
    private static readonly TimeSpan s_firstByteTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_restTimeout = TimeSpan.FromMilliseconds(100);

    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextGrantId;

    public string Address { get; } = address;

    private bool IsAbstract => Address.StartsWith('@');

    public void Start()
    {
        if (IsAbstract)
        {
            _listener.Bind(new UnixDomainSocketEndPoint("\0" + Address[1..]));
        }
        else
        {
            UnixSocketFile.PrepareForBind(Address, SocketType.Stream);
            _listener.Bind(new UnixDomainSocketEndPoint(Address));
            File.SetUnixFileMode(Address, (UnixFileMode)0b110_110_110);
        }

        _listener.Listen(512);
        _acceptLoop = AcceptLoopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        if (!IsAbstract)
        {
            UnixSocketFile.Remove(Address);
        }

        _stopping.Dispose();
    }

    private Task AcceptLoopAsync() => AcceptLoop.RunAsync(_listener, client => _ = ServeAsync(client), logger, _stopping.Token);

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                // Grants need only the requesting uid (for quotas), not its groups.
                PeerCredentials peer = PeerCredentials.Read(client, withGroups: false);
                string? refusal = null;
                int? pid = await ReadPidAsync(client).ConfigureAwait(false);
                SafeFileHandle? pidfd = pid is > 1 ? ProcessExitWatcher.TryOpen(pid.Value) : null;
                if (pidfd is null)
                {
                    refusal = pid is null ? "the request is not a pid" : pid <= 1 ? $"pid {pid} is not a process a port can be held for" : $"no process has pid {pid}";
                    service.GrantRequestRefused();
                }
                else
                {
                    refusal = await GrantAsync(client, peer, pid!.Value, pidfd).ConfigureAwait(false);
                }

                if (refusal is not null)
                {
                    DaemonLog.GrantRefused(logger, pid ?? 0, peer.Uid, refusal);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The client went away or the daemon is stopping; a grant already made is held by the pid's watch.
            }
        }
    }

    /// <summary>Grants a port to the pid behind <paramref name="pidfd"/>; returns why not, or null once the reply is written.</summary>
    private async Task<string?> GrantAsync(Socket client, PeerCredentials peer, int pid, SafeFileHandle pidfd)
    {
        long grantId = -Interlocked.Increment(ref _nextGrantId);
        TableResult granted = await service.GrantPortAsync(new ReservationOwner(grantId, pid, peer.Uid, peer.Gid, IsAdministrator: peer.Uid == 0)).ConfigureAwait(false);
        if (!granted.Succeeded)
        {
            pidfd.Dispose();
            return granted.Message;
        }

        // Watch before replying: if the process is already gone, the watch fires at once and the ports go back.
        watcher.Watch(pidfd, () => service.GrantHolderExited(grantId));
        byte[] reply = Encoding.ASCII.GetBytes(granted.Reservation!.Range.Start.ToString(CultureInfo.InvariantCulture) + "\n");
        await client.SendAsync(reply, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
        client.Shutdown(SocketShutdown.Both);
        return null;
    }

    /// <summary>
    /// Reads "PID" or "PID\n" (at most <see cref="MaxRequestBytes"/> bytes). Like Google's portserver it takes what the
    /// client sent in one go; bytes that trickle in after a short pause are not waited for.
    /// </summary>
    private async Task<int?> ReadPidAsync(Socket client)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (length < buffer.Length && !buffer.AsSpan(0, length).Contains((byte)'\n'))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(length == 0 ? s_firstByteTimeout : s_restTimeout);
            try
            {
                int received = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }

                length += received;
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                break;
            }
        }

        return ParsePid(buffer.AsSpan(0, length));
    }

    /// <summary>A decimal pid, as Python's int() reads it in Google's portserver: surrounding whitespace (the newline) allowed.</summary>
    internal static int? ParsePid(ReadOnlySpan<byte> request)
    {
        request = request.Trim(" \t\r\n\v\f"u8);
        return request.Length is > 0 and <= 11 && int.TryParse(request, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }
}
