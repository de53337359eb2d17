using PortReserve.Protocol;

namespace PortReserve.Tests.Protocol;

public sealed class FrameCodecTests
{
    [Fact]
    public void PortBlock_RoundTrips()
    {
        byte[] frame = Encode(new FrameHeader(MessageType.Acquire, FrameFlags.None, 0, 42), new PortBlock(PortReservationProtocol.Udp, 5000, 20));

        FrameHeader header = FrameHeader.Read(frame);
        var reader = new FrameReader(frame.AsSpan(FrameHeader.Size));

        Assert.Equal((MessageType.Acquire, 42u), (header.Operation, header.RequestId));
        Assert.Equal(new PortBlock(PortReservationProtocol.Udp, 5000, 20), PortBlock.Read(ref reader));
    }

    [Fact]
    public void ReservationGrant_RoundTripsAndRejectsZeroToken()
    {
        var buffer = new byte[64];
        var writer = new FrameWriter(buffer, new FrameHeader(MessageType.Acquire | MessageType.ReplyBit, FrameFlags.None, 0, 1));
        new ReservationGrant(new PortBlock(PortReservationProtocol.Tcp, 40000, 3), 0xDEADBEEFCAFEUL).Write(ref writer);
        var reader = new FrameReader(buffer.AsSpan(FrameHeader.Size, writer.Length - FrameHeader.Size));
        Assert.Equal(0xDEADBEEFCAFEUL, ReservationGrant.Read(ref reader).Token);

        writer = new FrameWriter(buffer, new FrameHeader(MessageType.Acquire | MessageType.ReplyBit, FrameFlags.None, 0, 1));
        new ReservationGrant(new PortBlock(PortReservationProtocol.Tcp, 40000, 3), 0).Write(ref writer);
        int length = writer.Length;
        Assert.Throws<ProtocolException>(() =>
        {
            var zero = new FrameReader(buffer.AsSpan(FrameHeader.Size, length - FrameHeader.Size));
            ReservationGrant.Read(ref zero);
        });
    }

    [Fact]
    public void CreatePersistentRequest_RoundTripsWithConsumers()
    {
        var request = new CreatePersistentRequest(new PortBlock(PortReservationProtocol.Tcp, 8080, 1), ["www-data", "1000"], ["web"]);
        byte[] frame = Encode(new FrameHeader(MessageType.CreatePersistent, FrameFlags.None, 0, 3), request);
        var reader = new FrameReader(frame.AsSpan(FrameHeader.Size));

        CreatePersistentRequest decoded = CreatePersistentRequest.Read(ref reader);

        Assert.Equal(request.Block, decoded.Block);
        Assert.Equal(request.AllowUsers, decoded.AllowUsers);
        Assert.Equal(request.AllowGroups, decoded.AllowGroups);
    }

    [Fact]
    public void CreatePersistentRequest_MoreNamesThanAllowed_ThrowsProtocolException()
    {
        byte[] payload = [1, 0x90, 0x1F, 1, 0, (byte)(CreatePersistentRequest.MaxConsumers + 1)];

        Assert.Throws<ProtocolException>(() =>
        {
            var reader = new FrameReader(payload);
            CreatePersistentRequest.Read(ref reader);
        });
    }

    [Fact]
    public void ReservationEntry_EncodedSizeMatchesWhatIsWritten()
    {
        var entry = new ReservationEntry(new PortBlock(PortReservationProtocol.Udp, 5000, 2), PortReservationKind.Persistent, 0, ReservationEntry.NoUid, 77, ["nobody(65534)"], ["web(2000)", "é"], "/etc/portreserve/reservations.d/web.conf:3");
        var buffer = new byte[256];
        var writer = new FrameWriter(buffer, new FrameHeader(MessageType.Show | MessageType.ReplyBit, FrameFlags.None, 0, 1));

        entry.Write(ref writer);
        var reader = new FrameReader(buffer.AsSpan(FrameHeader.Size, writer.Length - FrameHeader.Size));
        ReservationEntry decoded = ReservationEntry.Read(ref reader);

        Assert.Equal(entry.EncodedSize, writer.Length - FrameHeader.Size);
        Assert.Equal(entry.AllowedGroups, decoded.AllowedGroups);
        Assert.Equal(entry.Source, decoded.Source);
    }

    [Fact]
    public void Status_RoundTripsEveryField()
    {
        PortReserveStatus status = FullStatus(runtimeTcp: 1, persistentTcp: 2);
        byte[] frame = Encode(status, out int length);
        var reader = new FrameReader(frame.AsSpan(FrameHeader.Size, length - FrameHeader.Size));

        PortReserveStatus decoded = StatusFrame.Read(ref reader);

        Assert.Equivalent(status, decoded, strict: true);
    }

    [Theory]
    [InlineData(PortReservationProtocol.Tcp, 1, 1, true, null)]
    [InlineData(PortReservationProtocol.Udp, 0, 100, true, null)]
    [InlineData(PortReservationProtocol.Tcp, 65535, 1, false, null)]
    [InlineData(PortReservationProtocol.Tcp, 65535, 2, true, "must end at or below 65535")]
    [InlineData(PortReservationProtocol.Tcp, 10, 0, true, "count must be 1-65535")]
    [InlineData(PortReservationProtocol.Udp, -1, 1, true, "start 1-65535")]
    [InlineData(PortReservationProtocol.Tcp, 0, 1, false, "start 0 (any block) is for runtime reservations only")]
    [InlineData((PortReservationProtocol)7, 80, 1, true, "neither TCP nor UDP")]
    public void PortBlock_Problem_StatesTheOneRangeRule(PortReservationProtocol protocol, int start, int count, bool wildcardAllowed, string? problem)
    {
        string? found = new PortBlock(protocol, start, count).Problem(wildcardAllowed);

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found);
        }
    }

    [Fact]
    public void Status_TotalsDisagreeingWithPerProtocolCounts_ThrowsProtocolException()
    {
        byte[] frame = Encode(FullStatus(runtimeTcp: 1, persistentTcp: 0), out int length);

        // The runtime total is the first int32 after the version, uptime, mode, active flag and detail.
        int totalOffset = FrameHeader.Size + (2 + 5) + 8 + (2 + 4) + 1 + (2 + 2);
        Assert.Equal(4, BitConverter.ToInt32(frame, totalOffset));
        frame[totalOffset] = 7;

        Assert.Throws<ProtocolException>(() =>
        {
            var reader = new FrameReader(frame.AsSpan(FrameHeader.Size, length - FrameHeader.Size));
            StatusFrame.Read(ref reader);
        });
    }

    /// <summary>A status with every field set to something other than its default.</summary>
    private static PortReserveStatus FullStatus(int runtimeTcp, int persistentTcp) => new()
    {
        Version = "1.2.3",
        Uptime = TimeSpan.FromMilliseconds(12345),
        KernelSyncMode = "auto",
        KernelSyncActive = true,
        KernelSyncDetail = "on",
        RuntimeReservations = runtimeTcp + 3,
        PersistentReservations = persistentTcp + 4,
        SystemExclusions = 5,
        RuntimeTcpReservations = runtimeTcp,
        RuntimeUdpReservations = 3,
        PersistentTcpReservations = persistentTcp,
        PersistentUdpReservations = 4,
        Connections = 6,
        WildcardStartPort = 32768,
        WildcardEndPort = 60999,
        SocketPath = "/run/x.sock",
        StateDirectory = "/var/lib/x",
        KernelListMatches = false,
        LargestFreeTcpBlock = 28000,
        LargestFreeUdpBlock = 27999,
        MaxRuntimePortsPerUid = 16384,
        MaxRuntimeReservationsPerUid = 4096,
        PortServerAddress = "@ps",
        MetricsAddress = "127.0.0.1:9100",
        ExclusiveBindsMode = "on",
        ExclusiveBindsActive = true,
        ExclusiveBindsDetail = "attached",
        ConfigDirectories = ["/etc/portreserve/reservations.d"],
        DeclaredReservations = 1,
        DeclaredSources = ["TCP 443 at /etc/portreserve/reservations.d/web.conf:1"],
        DeclarationProblemCount = 2,
        DeclarationProblems = ["/etc/portreserve/reservations.d/web.conf:2: bad"],
        RefusedBinds = 7,
        RecentRefusedBinds = ["TCP port 443 by pid 1234 (nginx) uid 33"],
    };

    private static byte[] Encode(PortReserveStatus status, out int length)
    {
        var buffer = new byte[FrameHeader.MaxFrameSize];
        var writer = new FrameWriter(buffer, new FrameHeader(MessageType.Status | MessageType.ReplyBit, FrameFlags.None, 0, 9));
        StatusFrame.Write(ref writer, status);
        length = writer.Length;
        return buffer;
    }

    [Theory]
    [InlineData(new byte[] { 2, 1, 0, 0, 1, 0, 0, 0 }, "version")]
    [InlineData(new byte[] { 1, 12, 0, 0, 1, 0, 0, 0 }, "unknown message type")]
    [InlineData(new byte[] { 1, 1, 4, 0, 1, 0, 0, 0 }, "flags")]
    [InlineData(new byte[] { 1, 1, 0, 99, 1, 0, 0, 0 }, "status")]
    [InlineData(new byte[] { 1, 1, 0 }, "shorter")]
    public void FrameHeader_Invalid_ThrowsProtocolException(byte[] frame, string reason)
    {
        ProtocolException error = Assert.Throws<ProtocolException>(() => FrameHeader.Read(frame));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void PortBlock_TruncatedTrailingOrBadEnum_ThrowsProtocolException()
    {
        Assert.Throws<ProtocolException>(() => Decode([1, 0x88, 0x13]));
        Assert.Throws<ProtocolException>(() => Decode([1, 0x88, 0x13, 20, 0, 7]));
        Assert.Throws<ProtocolException>(() => Decode([3, 0x88, 0x13, 20, 0]));

        static PortBlock Decode(byte[] payload)
        {
            var reader = new FrameReader(payload);
            return PortBlock.Read(ref reader);
        }
    }

    [Fact]
    public void ReadString_OverLongOrInvalidUtf8_ThrowsProtocolException()
    {
        Assert.Throws<ProtocolException>(() => ReadString([0xFF, 0xFF]));
        Assert.Throws<ProtocolException>(() => ReadString([2, 0, 0xC3, 0x28]));

        static string ReadString(byte[] payload)
        {
            var reader = new FrameReader(payload);
            return reader.ReadString();
        }
    }

    [Fact]
    public void RandomFrames_OnlyEverFailWithProtocolException()
    {
        var random = new Random(7);
        var buffer = new byte[256];
        for (int i = 0; i < 200_000; i++)
        {
            int length = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            if (length > 0 && random.Next(2) == 0)
            {
                buffer[0] = FrameHeader.CurrentVersion;
            }

            try
            {
                DecodeAny(buffer.AsSpan(0, length));
            }
            catch (ProtocolException)
            {
            }
        }
    }

    private static void DecodeAny(ReadOnlySpan<byte> frame)
    {
        FrameHeader header = FrameHeader.Read(frame);
        var reader = new FrameReader(frame[FrameHeader.Size..]);
        switch (header.Operation)
        {
            case MessageType.Acquire or MessageType.LookupPersistent or MessageType.DeletePersistent: PortBlock.Read(ref reader); break;
            case MessageType.CreatePersistent: CreatePersistentRequest.Read(ref reader); break;
            case MessageType.Release or MessageType.Associate: TokenRequest.Read(ref reader); break;
            case MessageType.Show: ShowRequest.Read(ref reader); break;
            case MessageType.Status: StatusFrame.Read(ref reader); break;
        }
    }

    private static byte[] Encode<T>(FrameHeader header, T request)
        where T : IRequestPayload
    {
        var buffer = new byte[FrameHeader.MaxRequestSize];
        var writer = new FrameWriter(buffer, header);
        request.Write(ref writer);
        return buffer[..writer.Length];
    }
}
