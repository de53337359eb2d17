using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve;
using PortReserve.Daemon;
using PortReserve.Daemon.Kernel;
using PortReserve.Fuzz;
using PortReserve.Protocol;

// The long fuzz run of the daemon's frame decoding and request handling, in-process:
//   dotnet test/PortReserve.Fuzz/bin/Release/net10.0/PortReserve.Fuzz.dll [--decoder-frames N] [--handler-frames N] [--seed S]
// Phase 1 feeds frames straight to the decoders; phase 2 feeds them to a whole daemon, started in-process as the
// portreserved program starts it (kernel sync off), over real Unix sockets while a witness client holds a reservation. Exit 0 when nothing crashed, hung,
// logged an unexpected failure, or disturbed the witness.
int decoderFrames = IntArgument("--decoder-frames", 1_000_000);
int handlerFrames = IntArgument("--handler-frames", 200_000);
int seed = IntArgument("--seed", 1);

long decoderFailures = DecoderPhase(decoderFrames, seed);
Console.WriteLine($"decoder: {decoderFrames:N0} frames, {decoderFailures} unexpected exceptions");

(long sent, int handlerErrors, bool witnessIntact, long heapGrowth) = await HandlerPhaseAsync(handlerFrames, seed + 1);
Console.WriteLine($"handler: {sent:N0} frames over real sockets, {handlerErrors} unexpected failures logged, witness {(witnessIntact ? "intact" : "DISTURBED")}, managed heap growth {heapGrowth / 1024:N0} KiB");
Console.WriteLine($"total: {decoderFrames + sent:N0} frames fed");
return decoderFailures == 0 && handlerErrors == 0 && witnessIntact && heapGrowth < 64 * 1024 * 1024 ? 0 : 1;

static long DecoderPhase(int frames, int seed)
{
    var mutator = new FrameMutator(seed);
    long failures = 0;
    for (int i = 0; i < frames; i++)
    {
        byte[] frame = mutator.Next();
        try
        {
            Decode(frame);
        }
        catch (ProtocolException)
        {
        }
        catch (Exception e)
        {
            if (failures++ < 5)
            {
                Console.WriteLine($"decoder failure on {Convert.ToHexString(frame.AsSpan(0, Math.Min(frame.Length, 64)))}: {e}");
            }
        }
    }

    return failures;
}

static void Decode(byte[] frame)
{
    FrameHeader header = FrameHeader.Read(frame);
    var reader = new FrameReader(frame.AsSpan(FrameHeader.Size));
    switch (header.Operation)
    {
        case MessageType.Acquire or MessageType.LookupPersistent or MessageType.DeletePersistent: PortBlock.Read(ref reader); break;
        case MessageType.Release or MessageType.Associate: TokenRequest.Read(ref reader); break;
        case MessageType.Show: ShowRequest.Read(ref reader); break;
        case MessageType.CreatePersistent: CreatePersistentRequest.Read(ref reader); break;
        case MessageType.Status: reader.EnsureEnd(); break;
    }
}

static async Task<(long Sent, int Errors, bool WitnessIntact, long HeapGrowth)> HandlerPhaseAsync(int frames, int seed)
{
    string directory = Directory.CreateTempSubdirectory("prf-").FullName;
    var logger = new CountingLogger();
    using ILoggerFactory loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logger));
    var options = new DaemonOptions
    {
        SocketPath = Path.Combine(directory, "s"),
        StateDirectory = Path.Combine(directory, "state"),
        KernelSync = KernelSyncMode.Off,
        WildcardRange = new PortRange(40000, 2000),
        MaxConnections = 1024,
        MaxConnectionsPerUid = 1024,
        ConfigDirectories = [Path.Combine(directory, "reservations.d")],
    };
    DaemonHost daemon = await DaemonHost.StartAsync(options, loggerFactory, TimeProvider.System);

    await using PortReservationClient witness = await PortReservationClient.ConnectAsync(new() { SocketPath = Path.Combine(directory, "s") });
    PortReservation held = await witness.AcquireAsync(PortReservationProtocol.Tcp, 0, 5);
    GC.Collect();
    long heapBefore = GC.GetTotalMemory(forceFullCollection: true);

    long sent = 0;
    await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
    {
        var mutator = new FrameMutator(seed * 31 + worker);
        while (Interlocked.Read(ref sent) < frames)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(directory, "s")));
            Task drain = DrainAsync(socket);
            try
            {
                // A connection lasts until the daemon closes it for a protocol violation, or for 500 frames.
                for (int i = 0; i < 500 && Interlocked.Increment(ref sent) <= frames; i++)
                {
                    await socket.SendAsync(mutator.Next(), SocketFlags.None);
                }
            }
            catch (SocketException)
            {
            }

            socket.Shutdown(SocketShutdown.Both);
            await drain.WaitAsync(TimeSpan.FromSeconds(30));
        }
    })));

    GC.Collect();
    long heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
    IReadOnlyList<PortReservationInfo> listing = await witness.ShowAsync(PortReservationProtocol.Tcp);
    bool intact = listing.Any(r => r.Token == held.Token && r.StartPort == held.StartPort && r.Count == 5) && !held.IsLost;
    await daemon.DisposeAsync();
    Directory.Delete(directory, recursive: true);
    foreach (string error in logger.FirstErrors)
    {
        Console.WriteLine("logged: " + error);
    }

    return (Math.Min(sent, frames), logger.Errors, intact, heapGrowth);
}

static async Task DrainAsync(Socket socket)
{
    byte[] buffer = new byte[FrameHeader.MaxFrameSize + 1];
    try
    {
        while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
        {
        }
    }
    catch (Exception e) when (e is SocketException or ObjectDisposedException)
    {
    }
}

int IntArgument(string name, int fallback)
    => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int value) ? value : fallback;
