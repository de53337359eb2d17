using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Processes;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Compat;

/// <summary>
/// Google's portserver protocol on an AF_UNIX stream socket (a leading '@' is the abstract namespace): a client writes
/// a pid in ASCII decimal, optionally with a newline, and reads back "PORT\n"; a refusal is silence and a close. Each
/// grant is a one-port runtime reservation free on TCP and UDP, owned by that pid, and released when it exits.
/// </summary>
internal sealed class PortServerListener : IAsyncDisposable
{
    private const int Backlog = 512;

    /// <summary>A pid is at most 10 digits; anything longer than this is not a request.</summary>
    private const int MaxRequestBytes = 32;
    private static readonly TimeSpan s_firstByteTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_restTimeout = TimeSpan.FromMilliseconds(100);

    private readonly RuntimeReservations _runtime;
    private readonly ProcessExitWatcher _watcher;
    private readonly PortServerAdmission _admission;
    private readonly AsyncEndpoint _accepting;
    private long _nextGrantId;

    private PortServerListener(EventLoop loop, string address, RuntimeReservations runtime, ProcessExitWatcher watcher, PortServerAdmission admission, ILogger logger)
    {
        _runtime = runtime;
        _watcher = watcher;
        _admission = admission;
        _accepting = AsyncEndpoint.Start(loop, new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified), socket => Bind(socket, address), Backlog, ServeAsync, $"--portserver-address {address}", logger);
    }

    /// <summary>Listens on <paramref name="address"/> (a path, or '@' and an abstract name) and grants ports to who asks.</summary>
    public static PortServerListener Start(EventLoop loop, string address, RuntimeReservations runtime, ProcessExitWatcher watcher, PortServerAdmission admission, ILogger logger) => new(loop, address, runtime, watcher, admission, logger);

    public ValueTask DisposeAsync() => _accepting.DisposeAsync();

    /// <summary>An abstract address ('@' and a name) has no file; a path gets one that everyone may connect to.</summary>
    private static UnixSocketFile? Bind(Socket socket, string address)
    {
        if (!address.StartsWith('@'))
        {
            return UnixSocketFile.Bind(socket, address, UnixSocketFile.EveryoneReadWrite, "--portserver-address");
        }

        socket.Bind(new UnixDomainSocketEndPoint("\0" + address[1..]));
        return null;
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        using (client)
        {
            Principal peer;
            SafeFileHandle? connector;
            try
            {
                peer = PeerCredentials.Read(client, _admission.Access, out connector);
            }
            catch (SocketException)
            {
                return;
            }

            using SafeFileHandle? held = connector;
            if (!_admission.TryEnter(peer))
            {
                return;
            }

            try
            {
                int? pid = await ReadPidAsync(client, stopping).ConfigureAwait(false);
                if (pid is not { } requested)
                {
                    _runtime.GrantRefused("the request is not a pid", 0, peer.Uid);
                    return;
                }

                if (_admission.TryWatch(peer.IsAdministrator) is { } spent)
                {
                    _runtime.GrantRefused(spent, requested, peer.Uid);
                    return;
                }

                if (OpenRequested(requested, out string? why) is not { } pidfd)
                {
                    _admission.WatchEnded();
                    _runtime.GrantRefused(why ?? "refused", requested, peer.Uid);
                    return;
                }

                await GrantAsync(client, peer, requested, pidfd).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The client went away or the daemon is stopping; a grant already made is held by the pid's watch.
            }
            finally
            {
                _admission.Left(peer);
            }
        }
    }

    /// <summary>A pidfd of the requested process, or null and why not: pid 1 and kernel threads never exit, so they hold nothing.</summary>
    private static SafeFileHandle? OpenRequested(int pid, out string? why)
    {
        if (pid <= 1)
        {
            why = $"pid {pid} is not a process a port can be held for";
            return null;
        }

        return ProcessExitWatcher.TryOpenUserProcess(pid, out why);
    }

    /// <summary>Grants a port to the pid behind <paramref name="pidfd"/> and writes it; a refusal is silence (and a log line).</summary>
    /// <param name="peer">Who asked: the grant's process is judged as that user.</param>
    private async Task GrantAsync(Socket client, Principal peer, int pid, SafeFileHandle pidfd)
    {
        HolderId grantId = HolderId.PortServerGrant(Interlocked.Increment(ref _nextGrantId));
        // Not exclusive: portpicker's callers hand the port to servers they start, which must bind it.
        Refusable<Reservation> result = await _runtime.GrantAsync(new ReservationOwner(grantId, peer with { Pid = pid, ProcessId = ProcessIdentity.Of(pidfd) }, Exclusive: false)).ConfigureAwait(false);
        if (!result.TryGet(out Reservation? granted, out _))
        {
            pidfd.Dispose();
            _admission.WatchEnded();
            return;
        }

        // Watch before replying: if the process is already gone, the watch fires when the loop registers it, next turn,
        // and the ports go back.
        _watcher.Watch(pidfd, () =>
        {
            _runtime.ReleaseHolder(grantId, "portserver client process");
            _admission.WatchEnded();
        });
        byte[] reply = Encoding.ASCII.GetBytes(granted.Block.Range.Start.ToString(CultureInfo.InvariantCulture) + "\n");
        if (client.Send(reply, SocketFlags.None) < reply.Length)
        {
            // Seven bytes on a fresh connection: a short send means the client is gone; the watch releases the grant.
            return;
        }

        client.Shutdown(SocketShutdown.Both);
    }

    /// <summary>
    /// Reads "PID" or "PID\n" (at most <see cref="MaxRequestBytes"/> bytes). Like Google's portserver it takes what the
    /// client sent in one go; bytes that trickle in after a short pause are not waited for.
    /// </summary>
    private static async Task<int?> ReadPidAsync(Socket client, CancellationToken stopping)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int length = 0;
        if (client.Available > 0)
        {
            // Usually the request came with the connection: read it on this thread, without arming a timeout.
            length = client.Receive(buffer, SocketFlags.None);
            if (length == 0 || buffer.AsSpan(0, length).Contains((byte)'\n'))
            {
                return ParsePid(buffer.AsSpan(0, length));
            }
        }

        while (length < buffer.Length && !buffer.AsSpan(0, length).Contains((byte)'\n'))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
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
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
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
