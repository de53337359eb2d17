using System.Globalization;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// A user who may not bind a port below net.ipv4.ip_unprivileged_port_start may not reserve one either: otherwise
/// nobody could squat 22, 80, 443 and 53, and root's own services would meet EACCES there. A persistent reservation an
/// administrator made for a user is that user's permission to bind its ports, privileged or not, without any
/// capability; nothing else opens a privileged port.
/// </summary>
public sealed class PrivilegedPortTests
{
    [Fact(Timeout = 60_000)]
    public async Task Nobody_CannotReservePrivilegedPorts_AndRootStillBindsThem()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run a client as nobody");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");

        string[] squats = ["tcp 1 1023", "udp 53 1", "tcp 443 1"];
        var outcomes = new List<string>();
        var holders = new List<ChildProcess>();
        try
        {
            foreach (string squat in squats)
            {
                ChildProcess holder = OtherUser.Start(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Peer, ["hold", .. squat.Split(' ')], daemon.ClientEnvironment, redirectInput: true);
                holders.Add(holder);
                outcomes.Add(await holder.WaitForLineAsync(_ => true));
            }

            (int tcp80, string tcp80Output) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "tcp", "80"]);
            (int udp53, string udp53Output) = await ChildProcess.RunAsync(Artifacts.Peer, ["try-bind", "udp", "53"]);

            Assert.All(outcomes, outcome => Assert.StartsWith("error AccessDenied", outcome, StringComparison.Ordinal));
            Assert.Contains("net.ipv4.ip_unprivileged_port_start", outcomes[0]);
            Assert.True(tcp80 == 0, tcp80Output);
            Assert.True(udp53 == 0, udp53Output);
            Assert.Equal(string.Empty, KernelList.Text);
        }
        finally
        {
            foreach (ChildProcess holder in holders)
            {
                await holder.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task AllowedUsers_BindTheirReservedPrivilegedPorts_WithoutCapabilities_WhileOthersAndUnreservedPortsStayClosed()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run binds under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using (PortReservationClient root = await daemon.ConnectAsync())
        {
            await Persistent.CreateAllowingNobodyAsync(root, 443);
            var dns = new PersistentReservationOptions();
            dns.AllowedGroups.Add("nogroup");
            await root.CreatePersistentAsync(PortReservationProtocol.Udp, 53, 1, dns, TestContext.Current.CancellationToken).WithTimeout();
        }

        // setpriv drops every capability (inheritable and bounding set too): nobody binds by the reservation alone.
        var outcomes = new Dictionary<string, string>
        {
            // Root that dropped its capabilities (a hardened service) binds as the kernel decides: not below 1024.
            ["root without capabilities tcp 443"] = await BindAttempt.AsUserAsync(0, 0, "tcp", "443", daemon.ClientEnvironment),
        };
        foreach ((string who, uint uid, uint gid) in ((string, uint, uint)[])[("nobody", OtherUser.Nobody, OtherUser.Nobody), ("stranger", OtherUser.Stranger, OtherUser.Stranger)])
        {
            foreach (string bind in (string[])["tcp 443", "udp 53", "tcp 444", "udp 54"])
            {
                outcomes[$"{who} {bind}"] = await BindAttempt.AsUserAsync(uid, gid, bind.Split(' ')[0], bind.Split(' ')[1], daemon.ClientEnvironment);
            }
        }

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["root without capabilities tcp 443"] = "refused AccessDenied",
                ["nobody tcp 443"] = "ok", ["nobody udp 53"] = "ok",
                ["nobody tcp 444"] = "refused AccessDenied", ["nobody udp 54"] = "refused AccessDenied",
                ["stranger tcp 443"] = "refused AccessDenied", ["stranger udp 53"] = "refused AccessDenied",
                ["stranger tcp 444"] = "refused AccessDenied", ["stranger udp 54"] = "refused AccessDenied",
            },
            outcomes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Nobody_GetsOnlyUnprivilegedPorts_FromAWildcardRangeThatReachesBelowThem()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run a client as nobody");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "1000-1030");

        (int exit, string output) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Cli, ["run", "--tcp", "4", "--", "sh", "-c", "echo $PORTRESERVE_TCP"], daemon.ClientEnvironment);
        await using PortReservationClient root = await daemon.ConnectAsync();
        await using PortReservation administrators = await root.AcquireAsync(PortReservationProtocol.Tcp, 0, 4, TestContext.Current.CancellationToken).WithTimeout();

        Assert.True(exit == 0, output);
        Assert.Equal(1024, int.Parse(output.Trim().Split('-')[0], CultureInfo.InvariantCulture));
        Assert.Equal(1000, administrators.StartPort);
    }

    [Fact(Timeout = 60_000)]
    public async Task LoweredUnprivilegedPortStart_IsHonouredAtOnce()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run a client as nobody");
        const string setting = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
        string before = File.ReadAllText(setting);
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        try
        {
            File.WriteAllText(setting, "80");
            (int exit, string output) = await OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, Artifacts.Cli, ["run", "--tcp-at", "8080:1", "--tcp-at", "80:1", "--", "true"], daemon.ClientEnvironment);
            Assert.True(exit == 0, output);
        }
        finally
        {
            File.WriteAllText(setting, before);
        }
    }
}
