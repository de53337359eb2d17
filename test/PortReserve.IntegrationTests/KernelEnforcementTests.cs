using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>The kernel's reserved port list follows the table: real daemon, real sysctl, private network namespace.</summary>
public sealed class KernelEnforcementTests
{
    [Fact(Timeout = 60_000)]
    public async Task AcquireAsync_BlockIsInKernelListBeforeItReturns_AndLeavesAfterRelease()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();

        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Udp, 5000, 20, TestContext.Current.CancellationToken).WithTimeout();
        bool heldAtReturn = KernelList.ContainsAll(5000, 5019);
        await reservation.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
        bool heldAfterRelease = KernelList.ContainsAny(5000, 5019);

        Assert.True(heldAtReturn, $"kernel list at return: {KernelList.Text}");
        Assert.False(heldAfterRelease, $"kernel list after release: {KernelList.Text}");
    }

    [Fact(Timeout = 60_000)]
    public async Task KernelListOverwrittenByRoot_HasTheDaemonsEntriesBackWithinASecond_AndKeepsWhatRootWrote()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        await using PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, 5100, 3, TestContext.Current.CancellationToken).WithTimeout();

        KernelList.Write("7777");
        await Timeouts.Eventually(() => KernelList.ContainsAll(5100, 5102), $"the held block is back in the kernel list (now {KernelList.Text})", TimeSpan.FromSeconds(1.5));
        await held.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
        IReadOnlyList<PortReservationInfo> listed = await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal("7777", KernelList.Text);
        Assert.Equal([(PortReservationProtocol.Tcp, PortReservationKind.System), (PortReservationProtocol.Udp, PortReservationKind.System)], listed.Where(r => r.StartPort == 7777).Select(r => (r.Protocol, r.Kind)).Order());
    }

    [Fact(Timeout = 120_000)]
    public async Task BindToPortZero_ThousandsOfTimes_NeverLandsInAReservedBlock()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        (int low, int high) = EphemeralRange();
        var reserved = new HashSet<int>();
        var blocks = new List<PortReservation>();

        // Half the ephemeral range reserved in wildcard blocks of both protocols (which skip ports this process's own
        // connections use): without enforcement about half of all automatic choices would land in them.
        while (reserved.Count < (high - low + 1) / 2)
        {
            PortReservation block = await client.AcquireAsync(blocks.Count % 2 == 0 ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp, 0, 500, TestContext.Current.CancellationToken).WithTimeout();
            blocks.Add(block);
            reserved.UnionWith(Enumerable.Range(block.StartPort, block.Count));
        }

        var landed = new List<int>();
        for (int i = 0; i < 3000; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, i % 2 == 0 ? SocketType.Stream : SocketType.Dgram, i % 2 == 0 ? ProtocolType.Tcp : ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            landed.Add(((IPEndPoint)socket.LocalEndPoint!).Port);
        }

        // The kernel keeps one list for TCP and UDP, so every block is closed to both protocols' automatic choices.
        Assert.DoesNotContain(landed, reserved.Contains);
        Assert.All(landed, p => Assert.InRange(p, low, high));
    }

    [Fact(Timeout = 60_000)]
    public async Task SystemExclusions_SurviveEveryWriteAndAreRefused()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("9000-9001,12345");
        await using PortReservationClient client = await daemon.ConnectAsync();

        for (int i = 0; i < 20; i++)
        {
            PortReservation r = await client.AcquireAsync(i % 2 == 0 ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp, 0, 1 + i, TestContext.Current.CancellationToken).WithTimeout();
            Assert.True(KernelList.ContainsAll(9000, 9001) && KernelList.ContainsAll(12345, 12345), KernelList.Text);
            await r.DisposeAsync().WithTimeout();
            Assert.True(KernelList.ContainsAll(9000, 9001) && KernelList.ContainsAll(12345, 12345), KernelList.Text);
        }

        PortReservationException refused = await Assert.ThrowsAsync<PortReservationException>(
            () => client.AcquireAsync(PortReservationProtocol.Tcp, 8990, 20, TestContext.Current.CancellationToken).WithTimeout());
        IReadOnlyList<PortReservationInfo> listing = await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal(0, await daemon.StopAsync());

        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, refused.Kind);
        Assert.Contains("system exclusion 9000-9001", refused.Message);
        Assert.Contains(listing, r => r is { Kind: PortReservationKind.System, StartPort: 9000, EndPort: 9001 });
        Assert.Equal("9000-9001,12345", KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task ExclusionAddedWhileRunning_IsAdoptedAndKept()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        PortReservation first = await client.AcquireAsync(PortReservationProtocol.Tcp, 20000, 5, TestContext.Current.CancellationToken).WithTimeout();

        // An administrator adds an exclusion by hand while the daemon runs (appending, as sysctl -w of the whole list would).
        KernelList.Write(KernelList.Text + ",30000-30002");
        await first.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal("30000-30002", KernelList.Text);
        PortReservationException refused = await Assert.ThrowsAsync<PortReservationException>(
            () => client.AcquireAsync(PortReservationProtocol.Udp, 30001, 1, TestContext.Current.CancellationToken).WithTimeout());
        Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, refused.Kind);
    }

    [Fact(Timeout = 60_000)]
    public async Task DaemonKilled_WithoutExclusiveBinds_RestartRemovesItsOwnLeftoversButKeepsSystemExclusions()
    {
        // Without the bind hooks nothing records runtime reservations for the next daemon (RestartRestoreTests has them).
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("7777", "--exclusive-binds", "off");
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            await client.AcquireAsync(PortReservationProtocol.Tcp, 6000, 10, TestContext.Current.CancellationToken).WithTimeout();
            await client.AcquireAsync(PortReservationProtocol.Udp, 6100, 1, TestContext.Current.CancellationToken).WithTimeout();
            daemon.Kill9();
            await daemon.WaitForExitAsync();
        }

        Assert.Equal("6000-6009,6100,7777", KernelList.Text);
        await daemon.RestartAsync();

        Assert.Equal("7777", KernelList.Text);
        await using PortReservationClient again = await daemon.ConnectAsync();
        await using PortReservation reacquired = await again.AcquireAsync(PortReservationProtocol.Tcp, 6000, 10, TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal("6000-6009,7777", KernelList.Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task SigTerm_WithoutExclusiveBinds_ExitsZeroAndTakesRuntimeEntriesOutOfTheKernel()
    {
        // Without the bind hooks no next daemon could restore runtime reservations, so a stop releases them.
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("100", "--exclusive-binds", "off");
        PortReservationClient client = await PortReservationClient.ConnectAsync(new PortReservationClientOptions { SocketPath = daemon.SocketPath, ReconnectTimeout = TimeSpan.FromSeconds(1) }, TestContext.Current.CancellationToken).WithTimeout();
        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 50, TestContext.Current.CancellationToken).WithTimeout();
        Assert.True(KernelList.ContainsAll(reservation.StartPort, reservation.EndPort));

        int exitCode = await daemon.StopAsync();

        Assert.Equal(0, exitCode);
        Assert.Equal("100", KernelList.Text);
        await reservation.Lost.WhenCancelled().WithTimeout();
        Assert.True(reservation.IsLost);
        await client.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task PortsAnAdministratorReservesByHand_WhileNoDaemonRuns_StayTheirs_EvenWhereTheDaemonOnceHeldThem()
    {
        // The daemon records which kernel entries it wrote, to remove its leftovers after a crash; a port it released
        // before it stopped is no longer its own.
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            for (int port = 7340; port <= 7342; port++)
            {
                PortReservation held = await client.AcquireAsync(PortReservationProtocol.Tcp, port, 1, TestContext.Current.CancellationToken).WithTimeout();
                await held.ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
            }
        }

        Assert.Equal(0, await daemon.StopAsync());
        KernelList.Write("7340-7342");
        await daemon.RestartAsync();
        string afterRestart = KernelList.Text;
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            PortReservationException refused = await Assert.ThrowsAsync<PortReservationException>(() => client.AcquireAsync(PortReservationProtocol.Tcp, 7342, 1, TestContext.Current.CancellationToken).WithTimeout());
            Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, refused.Kind);
        }

        Assert.Equal(0, await daemon.StopAsync());
        (int released, string release) = await daemon.ReleaseKernelAsync();

        Assert.Equal("7340-7342", afterRestart);
        Assert.True(released == 0, release);
        Assert.Contains("the kernel list holds nothing of the daemon's", release);
        Assert.Equal("7340-7342", KernelList.Text);
    }

    [Fact(Timeout = 90_000)]
    public async Task AWriteTheKernelCutShort_LeavesNoEntryOfTheDaemonsBehind_AsSomeoneElses()
    {
        // 800 separate ports make a list of two pages, written in two chunks; strace makes the kernel refuse every second.
        // Below the ephemeral range, where no connection of the test run itself can hold one of them.
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "off");
        await using PortReservationClient client = await daemon.ConnectAsync();
        var held = new List<PortReservation>();
        for (int i = 0; i < 800; i++)
        {
            held.Add(await client.AcquireAsync(PortReservationProtocol.Tcp, 20_000 + (2 * i), 1, TestContext.Current.CancellationToken).WithTimeout());
        }

        await using (ChildProcess strace = ChildProcess.Start("strace", ["-f", "-p", daemon.Pid.ToString(CultureInfo.InvariantCulture), "-P", KernelList.Path, "-e", "trace=pwrite64", "-e", "inject=pwrite64:error=EIO:when=2+2", "-o", "/dev/null"]))
        {
            await Timeouts.Eventually(() => File.ReadLines($"/proc/{daemon.Pid}/status").Any(l => l.StartsWith("TracerPid:", StringComparison.Ordinal) && l.Split('\t')[1] != "0"), "strace is attached");

            // A release rewrites the list whole: its first chunk (with 19000, for a request then refused) lands, the second does not.
            await held[^1].ReleaseAsync(TestContext.Current.CancellationToken).WithTimeout();
            await Assert.ThrowsAsync<PortReservationException>(() => client.AcquireAsync(PortReservationProtocol.Tcp, 19_000, 1, TestContext.Current.CancellationToken).WithTimeout());
        }

        await Timeouts.Eventually(() => File.ReadLines($"/proc/{daemon.Pid}/status").Any(l => l == "TracerPid:\t0"), "strace is gone");
        await using PortReservation after = await client.AcquireAsync(PortReservationProtocol.Tcp, 19_100, 1, TestContext.Current.CancellationToken).WithTimeout();
        IReadOnlyList<PortReservationInfo> listed = await client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

        Assert.DoesNotContain(19_000, KernelList.Ports());
        Assert.DoesNotContain(listed, r => r.StartPort == 19_000);
        Assert.True(KernelList.ContainsAll(19_100, 19_100));
    }

    [Fact(Timeout = 60_000)]
    public async Task ListLongerThanAPage_IsWrittenWhole_AndStatusSeesItMatch()
    {
        // Separate single ports print as "20000,20002,..." : 900 of them make a list of about 5,400 bytes.
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("100");
        await using PortReservationClient client = await daemon.ConnectAsync();
        var held = new List<PortReservation>();
        for (int port = 20000; port < 21800; port += 2)
        {
            held.Add(await client.AcquireAsync(PortReservationProtocol.Tcp, port, 1, TestContext.Current.CancellationToken).WithTimeout());
        }

        PortReserveStatus status = await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.True(KernelList.Text.Length > 4096, $"{KernelList.Text.Length} bytes");
        Assert.Equal(held.Select(r => r.StartPort).Append(100).ToHashSet(), KernelList.Ports());
        Assert.Equal(true, status.KernelListMatches);
    }

    [Fact(Timeout = 60_000)]
    public async Task KernelSyncOff_LeavesTheKernelListAlone()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("4242", "--kernel-sync", "off");
        await using PortReservationClient client = await daemon.ConnectAsync();

        await using PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 5000, 5, TestContext.Current.CancellationToken).WithTimeout();
        PortReserveStatus status = await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal("4242", KernelList.Text);
        Assert.False(status.KernelSyncActive);
        Assert.Equal(1, status.SystemExclusions);
    }

    private static (int Low, int High) EphemeralRange()
    {
        string[] bounds = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
