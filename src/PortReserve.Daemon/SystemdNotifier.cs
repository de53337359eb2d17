using System.Net.Sockets;
using System.Text;

namespace PortReserve.Daemon;

/// <summary>The sd_notify protocol: one datagram of KEY=VALUE lines to $NOTIFY_SOCKET (a leading '@' is abstract).</summary>
internal static class SystemdNotifier
{
    public static void Notify(string state)
    {
        string? address = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(address))
        {
            return;
        }

        if (address[0] == '@')
        {
            address = "\0" + address[1..];
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo(Encoding.UTF8.GetBytes(state), new UnixDomainSocketEndPoint(address));
        }
        catch (SocketException)
        {
            // The supervisor went away; readiness notification is advisory.
        }
    }
}
