using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// A process binding a port in a tight loop, keeping it whenever it lands while the port is reserved: if the daemon
/// checked that the port is free before the kernel enforced the reservation, the squatter would own ports granted to
/// someone else. The daemon enforces first, then checks, then grants. A bind that passed the kernel's first check just
/// before the port was reserved still takes the port for the instant the post-bind hook needs to refuse it; the
/// library's BindReserved rides that out, so the holder binds.
/// </summary>
public sealed class BindRaceTests
{
    [Fact(Timeout = 120_000)]
    public async Task TightLoopSquatter_NeverOwnsAPortGrantedToItsHolder()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to squat as another uid");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using PortReservationClient client = await daemon.ConnectAsync();
        const int Port = 46123;
        await using ChildProcess squatter = Attacker.Start(OtherUser.Nobody, ["squat", "tcp", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "60"]);
        await Task.Delay(200, TestContext.Current.CancellationToken);

        int granted = 0, refused = 0;
        var grantedButTaken = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((granted < 200 || clock.Elapsed < TimeSpan.FromSeconds(5)) && clock.Elapsed < TimeSpan.FromSeconds(40))
        {
            PortReservation reservation;
            try
            {
                reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, Port, 1, TestContext.Current.CancellationToken).WithTimeout();
            }
            catch (PortReservationException e) when (e.Kind == PortReservationErrorKind.AddressAlreadyInUse)
            {
                refused++;
                continue;
            }

            await using (reservation)
            {
                granted++;
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                reservation.Associate(socket);
                try
                {
                    socket.BindReserved(new IPEndPoint(IPAddress.Loopback, Port));
                }
                catch (PortReservationException e)
                {
                    grantedButTaken.Add(e.Kind.ToString());
                }
            }
        }

        Assert.True(granted >= 50, $"only {granted} grants ({refused} refused as in use): the test did not exercise the race");
        Assert.True(grantedButTaken.Count == 0, $"{grantedButTaken.Count} of {granted} grants were bound by the squatter first ({string.Join(", ", grantedButTaken.Distinct())}); {refused} refused as in use");
    }
}
