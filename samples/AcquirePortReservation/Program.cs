// The example program of the Windows SIO_ACQUIRE_PORT_RESERVATION page, with PortReserve on Linux:
// acquire a runtime reservation, open a socket, associate it with the reservation, bind it to a port from the
// block, print the port, and release the reservation. (The Windows example associates and binds the first socket
// instead of the second one it opened; this one uses the second socket throughout.)
//
//   AcquirePortReservation <addressfamily> <type> <protocol> <StartingPort> <NumberOfPorts>
//   AcquirePortReservation 2 2 17 5000 20      AF_INET=2 SOCK_DGRAM=2 IPPROTO_UDP=17 StartPort=5000 NumPorts=20
//
// StartingPort 0 lets the daemon choose the block. PORTRESERVE_SOCKET selects the daemon's socket.
//
// Then, what Windows guarantees and the kernel's reserved port list alone does not: it runs itself as a second program
// whose socket, not associated with the reservation, tries to bind a port of the block, and is refused (WSAEACCES).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve;

if (args is ["--bind-unassociated", _, _, _, var portText])
{
    return BindUnassociated(args[1..4], int.Parse(portText, CultureInfo.InvariantCulture));
}

if (args.Length != 5 || !TryParse(args, out AddressFamily family, out SocketType type, out ProtocolType protocol, out int startPort, out int numPorts))
{
    Console.WriteLine("usage: AcquirePortReservation <addressfamily> <type> <protocol> <StartingPort> <NumberOfPorts>");
    Console.WriteLine("Opens a socket for the specified family, type, & protocol");
    Console.WriteLine("and then acquires a runtime port reservation for the protocol specified");
    Console.WriteLine("   AcquirePortReservation 2 2 17 5000 20");
    Console.WriteLine("   where AF_INET=2 (AF_INET6=10) SOCK_STREAM=1 SOCK_DGRAM=2 IPPROTO_TCP=6 IPPROTO_UDP=17 StartPort=5000 NumPorts=20");
    return 1;
}

PortReservationProtocol reservationProtocol = protocol == ProtocolType.Tcp ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp;
try
{
    await using PortReservationClient client = await PortReservationClient.ConnectAsync();
    Console.WriteLine($"connected to portreserved at {client.SocketPath}");

    PortReservation reservation = await client.AcquireAsync(reservationProtocol, startPort, numPorts);
    Console.WriteLine("AcquireAsync (SIO_ACQUIRE_PORT_RESERVATION) succeeded");
    Console.WriteLine($"  Starting port={reservation.StartPort},  Number of Ports={reservation.Count}, Token={reservation.Token}");

    using (var socket = new Socket(family, type, protocol))
    {
        Console.WriteLine("socket function for second socket succeeded");

        reservation.Associate(socket);
        Console.WriteLine("Associate (SIO_ASSOCIATE_PORT_RESERVATION) succeeded");

        socket.BindReserved(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        Console.WriteLine("bind succeeded");
        int allocated = ((IPEndPoint)socket.LocalEndPoint!).Port;
        Console.WriteLine($"Port number allocated = {allocated}");

        int other = allocated == reservation.EndPort ? reservation.StartPort : reservation.EndPort;
        Console.WriteLine(await BindFromAnotherProgramAsync(args[..3], other));
    }

    await reservation.ReleaseAsync();
    Console.WriteLine("ReleaseAsync (SIO_RELEASE_PORT_RESERVATION) succeeded");
    return 0;
}
catch (PortReservationException e)
{
    Console.WriteLine($"failed with error = {(int)e.SocketErrorCode} ({e.Kind}): {e.Message}");
    return 1;
}

// Runs this program again to bind a plain socket to the port, as any other program on the machine would.
static async Task<string> BindFromAnotherProgramAsync(string[] socketArguments, int port)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
    foreach (string argument in (string[])["--bind-unassociated", .. socketArguments, port.ToString(CultureInfo.InvariantCulture)])
    {
        start.ArgumentList.Add(argument);
    }

    using Process other = Process.Start(start)!;
    string result = (await other.StandardOutput.ReadToEndAsync()).Trim();
    await other.WaitForExitAsync();
    return result;
}

static int BindUnassociated(string[] socketArguments, int port)
{
    TryParse([.. socketArguments, "0", "1"], out AddressFamily family, out SocketType type, out ProtocolType protocol, out _, out _);
    using var socket = new Socket(family, type, protocol);
    try
    {
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, port));
        Console.WriteLine($"another program's unassociated socket bound port {port}: this daemon does not make reservations exclusive (portreserve status says why)");
        return 0;
    }
    catch (SocketException e)
    {
        Console.WriteLine($"another program's unassociated socket could not bind port {port}: failed with error = {(int)e.SocketErrorCode} ({e.SocketErrorCode})");
        return 1;
    }
}

static bool TryParse(string[] args, out AddressFamily family, out SocketType type, out ProtocolType protocol, out int startPort, out int numPorts)
{
    int[] values = new int[5];
    for (int i = 0; i < 5; i++)
    {
        if (!int.TryParse(args[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]))
        {
            values[i] = -1;
        }
    }

    family = values[0] switch { 2 => AddressFamily.InterNetwork, 10 or 23 => AddressFamily.InterNetworkV6, _ => AddressFamily.Unknown };
    type = values[1] switch { 1 => SocketType.Stream, 2 => SocketType.Dgram, _ => SocketType.Unknown };
    protocol = values[2] switch { 6 => ProtocolType.Tcp, 17 => ProtocolType.Udp, _ => ProtocolType.Unknown };
    startPort = values[3];
    numPorts = values[4];
    if (startPort is < 0 or > 65535)
    {
        Console.WriteLine("Starting point must be either 0 or between 1 and 65,535");
        return false;
    }

    if (numPorts <= 0)
    {
        Console.WriteLine("Number of ports must be a positive number");
        return false;
    }

    return family != AddressFamily.Unknown && type != SocketType.Unknown && protocol != ProtocolType.Unknown;
}
