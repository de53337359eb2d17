using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// Hundreds of clients acquiring, binding, releasing and dying (some as real processes killed with SIGKILL) for a
/// bounded time; afterwards the table, the kernel list and the store agree exactly. Then the same with the daemon
/// itself killed in the middle of the load and restarted.
/// </summary>
public sealed class SoakTests
{
    private const string SystemExclusion = "8888";
    private static readonly TimeSpan s_load = TimeSpan.FromSeconds(6);

    [Fact(Timeout = 180_000)]
    public async Task ManyClientsDying_LeaveTableKernelAndStoreInAgreement()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(SystemExclusion);
        await CreatePersistentAsync(daemon);

        await RunLoadAsync(daemon, killDaemonAfter: null);

        await AssertAgreementAsync(daemon);
    }

    [Fact(Timeout = 180_000)]
    public async Task DaemonKilledUnderLoad_AfterRestartTableKernelAndStoreAgree()
    {
        // Without the bind hooks, so that the restarted daemon restores nothing of the clients, which are disposed while
        // it is away (restoring is RestartRestoreTests').
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(SystemExclusion, "--exclusive-binds", "off");
        await CreatePersistentAsync(daemon);

        await RunLoadAsync(daemon, killDaemonAfter: TimeSpan.FromSeconds(3));
        await daemon.RestartAsync();

        await AssertAgreementAsync(daemon);
    }

    private static async Task CreatePersistentAsync(DaemonProcess daemon)
    {
        await using PortReservationClient admin = await daemon.ConnectAsync();
        await admin.CreatePersistentAsync(PortReservationProtocol.Tcp, 9000, 4, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
        await admin.CreatePersistentAsync(PortReservationProtocol.Udp, 9100, 1, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();
    }

    private static async Task RunLoadAsync(DaemonProcess daemon, TimeSpan? killDaemonAfter)
    {
        using var stop = new CancellationTokenSource(s_load);
        var bound = new StrongBox<long>();
        Task[] clients = [.. Enumerable.Range(0, 200).Select(i => Task.Run(() => ClientLoopAsync(daemon, new Random(i), bound, stop.Token)))];
        Task peers = PeerProcessesAsync(daemon, stop.Token);
        if (killDaemonAfter is { } delay)
        {
            await Task.Delay(delay, TestContext.Current.CancellationToken);
            daemon.Kill9();
        }

        await Task.WhenAll([.. clients, peers]).WithTimeout(TimeSpan.FromSeconds(60));
        if (killDaemonAfter is not null)
        {
            await daemon.WaitForExitAsync();
        }

        Assert.True(Interlocked.Read(ref bound.Value) > 500, $"the load bound only {bound.Value} sockets from reservations");
    }

    /// <summary>One client: acquire, bind from the block, release, sometimes disconnect without releasing.</summary>
    private static async Task ClientLoopAsync(DaemonProcess daemon, Random random, StrongBox<long> bound, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            PortReservationClient client;
            try
            {
                client = await PortReservationClient.ConnectAsync(daemon.ClientOptions, stop);
            }
            catch (Exception e) when (e is PortReservationException or OperationCanceledException)
            {
                return;
            }

            await using (client)
            {
                try
                {
                    for (int op = 0, ops = random.Next(1, 20); op < ops && !stop.IsCancellationRequested; op++)
                    {
                        PortReservationProtocol protocol = random.Next(2) == 0 ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp;
                        PortReservation reservation = await client.AcquireAsync(protocol, 0, random.Next(1, 6), stop);
                        BindOnce(reservation, protocol);
                        Interlocked.Increment(ref bound.Value);
                        if (random.Next(4) != 0)
                        {
                            await reservation.ReleaseAsync(stop);
                        }
                    }
                }
                catch (Exception e) when (e is PortReservationException or OperationCanceledException)
                {
                    // Refusals (a busy wildcard range) and the daemon being killed are part of the load.
                }
            }
        }
    }

    private static void BindOnce(PortReservation reservation, PortReservationProtocol protocol)
    {
        using var socket = protocol == PortReservationProtocol.Tcp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        reservation.Associate(socket);
        socket.BindReserved(new IPEndPoint(IPAddress.Loopback, 0));
    }

    /// <summary>Real processes holding reservations, killed with SIGKILL at random.</summary>
    private static async Task PeerProcessesAsync(DaemonProcess daemon, CancellationToken stop)
    {
        var random = new Random(99);
        while (!stop.IsCancellationRequested)
        {
            var peers = Enumerable.Range(0, 8).Select(_ => ChildProcess.Start(Artifacts.Peer, ["hold", random.Next(2) == 0 ? "tcp" : "udp", "0", random.Next(1, 10).ToString(CultureInfo.InvariantCulture)], daemon.ClientEnvironment, redirectInput: true)).ToList();
            try
            {
                await Task.Delay(random.Next(200, 800), CancellationToken.None);
            }
            finally
            {
                foreach (ChildProcess peer in peers)
                {
                    peer.Kill9();
                    await peer.DisposeAsync();
                }
            }
        }
    }

    private static async Task AssertAgreementAsync(DaemonProcess daemon)
    {
        await using PortReservationClient client = await daemon.ConnectAsync();
        IReadOnlyList<PortReservationInfo> listing = [];
        await Timeouts.Eventually(() =>
        {
            listing = client.ShowAsync(cancellationToken: TestContext.Current.CancellationToken).AsTask().GetAwaiter().GetResult();
            return listing.All(r => r.Kind != PortReservationKind.Runtime);
        }, "every runtime reservation of the dead clients is gone", TimeSpan.FromSeconds(10));

        var persistent = listing.Where(r => r.Kind == PortReservationKind.Persistent).Select(r => (r.Protocol, r.StartPort, r.Count)).Order().ToList();
        Assert.Equal([(PortReservationProtocol.Tcp, 9000, 4), (PortReservationProtocol.Udp, 9100, 1)], persistent);
        Assert.Equal(Store(daemon), persistent);

        var expectedKernel = persistent.SelectMany(p => Enumerable.Range(p.StartPort, p.Count)).Append(int.Parse(SystemExclusion, CultureInfo.InvariantCulture)).ToHashSet();
        Assert.True(expectedKernel.SetEquals(KernelList.Ports()), $"kernel list {KernelList.Text}");
        Assert.Equal(true, (await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout()).KernelListMatches);
    }

    private static List<(PortReservationProtocol, int, int)> Store(DaemonProcess daemon)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(daemon.StateDirectory, "reservations.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using SqliteCommand query = connection.CreateCommand();
        query.CommandText = "SELECT protocol, start_port, port_count FROM persistent_reservation";
        using SqliteDataReader reader = query.ExecuteReader();
        var rows = new List<(PortReservationProtocol, int, int)>();
        while (reader.Read())
        {
            rows.Add(((PortReservationProtocol)reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2)));
        }

        return [.. rows.Order()];
    }
}
