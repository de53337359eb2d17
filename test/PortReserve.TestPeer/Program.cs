using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve;

// A second client process for the integration tests: its pid differs from the test's, as another program's would.
//   hold tcp|udp START COUNT   acquire, print "TOKEN START END", hold until stdin closes (or the process is killed)
//   release TOKEN              try to release someone's token
//   associate TOKEN tcp|udp    try to associate a socket with someone's token
//   bind TOKEN tcp|udp         associate a socket with a token and bind it to port 0; print "ok PORT"
//   as-recycled tcp|udp PORT TOKEN
//                              what a process that got a holder's pid back tries: bind its port, release its token, see
//                              its token in show; prints "bind RESULT", "release RESULT", "token visible|hidden"
//   share-repeatedly N         N times, connect anew (keeping every connection) and share with child processes; print
//                              the cgroup after each
//   try-bind tcp|udp PORT [ipv4|ipv6|dual]
//                              bind a plain socket (no reservation, no daemon) to PORT on loopback; print "ok PORT" or
//                              "refused SOCKETERROR", as any program's own bind would fare
// Prints "ok ..." or "error KIND message"; exits 0 on success, 1 on a PortReservationException or a refused bind.
if (args is ["try-bind", var plainProtocol, var plainPort, ..])
{
    return TryBind(ParseProtocol(plainProtocol), int.Parse(plainPort, CultureInfo.InvariantCulture), args.Length > 3 ? args[3] : "ipv4");
}

try
{
    await using PortReservationClient client = await PortReservationClient.ConnectAsync();
    switch (args)
    {
        case ["hold", var protocol, var start, var count]:
            PortReservation held = await client.AcquireAsync(ParseProtocol(protocol), int.Parse(start, CultureInfo.InvariantCulture), int.Parse(count, CultureInfo.InvariantCulture));
            Console.WriteLine($"{held.Token} {held.StartPort} {held.EndPort}");
            await Console.In.ReadToEndAsync();
            break;
        case ["as-recycled", var protocol, var port, var token]:
            await TryAllAsync(client, ParseProtocol(protocol), int.Parse(port, CultureInfo.InvariantCulture), ulong.Parse(token, CultureInfo.InvariantCulture));
            break;
        case ["share-repeatedly", var times]:
            // Every connection stays open meanwhile, as a program that shares on each new client would keep them.
            var clients = new List<PortReservationClient>();
            for (int i = 0; i < int.Parse(times, CultureInfo.InvariantCulture); i++)
            {
                PortReservationClient again = await PortReservationClient.ConnectAsync();
                clients.Add(again);
                await again.ShareWithChildProcessesAsync();
                Console.WriteLine(File.ReadLines("/proc/self/cgroup").First(l => l.StartsWith("0::", StringComparison.Ordinal)));
            }

            foreach (PortReservationClient opened in clients)
            {
                await opened.DisposeAsync();
            }

            break;
        case ["release", var token]:
            await client.ReleaseAsync(ulong.Parse(token, CultureInfo.InvariantCulture));
            Console.WriteLine("ok released");
            break;
        case ["associate", var token, var protocol]:
            using (Socket socket = NewSocket(ParseProtocol(protocol)))
            {
                await client.AssociateAsync(socket, ulong.Parse(token, CultureInfo.InvariantCulture));
                Console.WriteLine("ok associated");
            }

            break;
        case ["bind", var token, var protocol]:
            PortReservationProtocol bindProtocol = ParseProtocol(protocol);
            using (Socket socket = NewSocket(bindProtocol))
            {
                await client.AssociateAsync(socket, ulong.Parse(token, CultureInfo.InvariantCulture));
                socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
                Console.WriteLine($"ok {((IPEndPoint)socket.LocalEndPoint!).Port}");
            }

            break;
        default:
            Console.Error.WriteLine("usage: hold tcp|udp START COUNT | release TOKEN | associate TOKEN tcp|udp | bind TOKEN tcp|udp");
            return 2;
    }

    return 0;
}
catch (PortReservationException e)
{
    Console.WriteLine($"error {e.Kind} {e.Message}");
    return 1;
}

static async Task TryAllAsync(PortReservationClient client, PortReservationProtocol protocol, int port, ulong token)
{
    Console.Write("bind ");
    TryBind(protocol, port, "ipv4");
    try
    {
        await client.ReleaseAsync(token);
        Console.WriteLine("release ok");
    }
    catch (PortReservationException e)
    {
        Console.WriteLine($"release {e.Kind}");
    }

    IReadOnlyList<PortReservationInfo> listed = await client.ShowAsync();
    Console.WriteLine(listed.Any(r => r.Token == token) ? "token visible" : "token hidden");
}

static int TryBind(PortReservationProtocol protocol, int port, string family)
{
    using Socket socket = family == "ipv4"
        ? NewSocket(protocol)
        : new Socket(AddressFamily.InterNetworkV6, protocol == PortReservationProtocol.Tcp ? SocketType.Stream : SocketType.Dgram, protocol == PortReservationProtocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp) { DualMode = family == "dual" };
    try
    {
        socket.Bind(new IPEndPoint(family == "ipv4" ? IPAddress.Loopback : family == "dual" ? IPAddress.IPv6Any : IPAddress.IPv6Loopback, port));
        Console.WriteLine($"ok {((IPEndPoint)socket.LocalEndPoint!).Port}");
        return 0;
    }
    catch (SocketException e)
    {
        Console.WriteLine($"refused {e.SocketErrorCode}");
        return 1;
    }
}

static PortReservationProtocol ParseProtocol(string text) => text == "udp" ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp;

static Socket NewSocket(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp
    ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
    : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
