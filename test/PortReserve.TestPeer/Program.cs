using System.Globalization;
using System.Net.Sockets;
using PortReserve;

// A second client process for the integration tests: its pid differs from the test's, as another program's would.
//   hold tcp|udp START COUNT   acquire, print "TOKEN START END", hold until stdin closes (or the process is killed)
//   release TOKEN              try to release someone's token
//   associate TOKEN tcp|udp    try to associate a socket with someone's token
// Prints "ok ..." or "error KIND message"; exits 0 on success, 1 on a PortReservationException.
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
        case ["release", var token]:
            await client.ReleaseAsync(ulong.Parse(token, CultureInfo.InvariantCulture));
            Console.WriteLine("ok released");
            break;
        case ["associate", var token, var protocol]:
            PortReservationProtocol p = ParseProtocol(protocol);
            using (var socket = new Socket(AddressFamily.InterNetwork, p == PortReservationProtocol.Tcp ? SocketType.Stream : SocketType.Dgram, p == PortReservationProtocol.Tcp ? ProtocolType.Tcp : ProtocolType.Udp))
            {
                await client.AssociateAsync(socket, ulong.Parse(token, CultureInfo.InvariantCulture));
                Console.WriteLine("ok associated");
            }

            break;
        default:
            Console.Error.WriteLine("usage: hold tcp|udp START COUNT | release TOKEN | associate TOKEN tcp|udp");
            return 2;
    }

    return 0;
}
catch (PortReservationException e)
{
    Console.WriteLine($"error {e.Kind} {e.Message}");
    return 1;
}

static PortReservationProtocol ParseProtocol(string text) => text == "udp" ? PortReservationProtocol.Udp : PortReservationProtocol.Tcp;
