using System.Net.Sockets;
using PortReserve.Protocol;

namespace PortReserve.Tests.Client;

/// <summary>
/// A stand-in daemon on a real SEQPACKET socket, driven step by step by a test: it takes one connection, hands over each
/// request frame, and sends whatever frames the test writes, when the test says so.
/// </summary>
internal sealed class FakeDaemon : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly string _directory = Directory.CreateTempSubdirectory("prt-fake-").FullName;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
    private Socket? _connection;

    public FakeDaemon()
    {
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(4);
    }

    public string SocketPath => Path.Combine(_directory, "s");

    /// <summary>Connects a client to this daemon and accepts its connection.</summary>
    public async Task<PortReservationClient> ConnectClientAsync()
    {
        Task<Socket> accepted = _listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        PortReservationClient client = await PortReservationClient.ConnectAsync(new PortReservationClientOptions { SocketPath = SocketPath, ReconnectTimeout = TimeSpan.Zero }, TestContext.Current.CancellationToken).AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        _connection = await accepted.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        return client;
    }

    /// <summary>The next request the client sent: its header and payload.</summary>
    public async Task<(FrameHeader Header, byte[] Payload)> ReceiveAsync()
    {
        byte[] buffer = new byte[FrameHeader.MaxFrameSize];
        int length = await Connection.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        FrameHeader header = FrameHeader.Read(buffer.AsSpan(0, length));
        return (header, buffer[FrameHeader.Size..length]);
    }

    /// <summary>Answers <paramref name="request"/> with a grant of <paramref name="block"/> and <paramref name="token"/>.</summary>
    public Task GrantAsync(FrameHeader request, PortBlock block, ulong token)
    {
        byte[] frame = new byte[64];
        var writer = new FrameWriter(frame, ReplyTo(request, status: 0));
        new ReservationGrant(block, token).Write(ref writer);
        return SendAsync(frame[..writer.Length]);
    }

    /// <summary>Answers <paramref name="request"/> with an error of <paramref name="kind"/>.</summary>
    public Task FailAsync(FrameHeader request, PortReservationErrorKind kind, string message)
    {
        byte[] frame = new byte[FrameHeader.Size + 2 + (4 * message.Length)];
        var writer = new FrameWriter(frame, ReplyTo(request, (byte)kind));
        writer.WriteString(message);
        return SendAsync(frame[..writer.Length]);
    }

    /// <summary>Answers <paramref name="request"/> with an empty success (release, delete).</summary>
    public Task AcknowledgeAsync(FrameHeader request)
    {
        byte[] frame = new byte[FrameHeader.Size];
        ReplyTo(request, status: 0).Write(frame);
        return SendAsync(frame);
    }

    public Task SendAsync(byte[] frame) => Connection.SendAsync(frame, SocketFlags.None, TestContext.Current.CancellationToken).AsTask().WaitAsync(s_timeout, TestContext.Current.CancellationToken);

    /// <summary>Closes the client's connection, as a daemon that stopped or crashed does.</summary>
    public void Drop() => Connection.Dispose();

    public ValueTask DisposeAsync()
    {
        _connection?.Dispose();
        _listener.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static FrameHeader ReplyTo(FrameHeader request, byte status)
        => new((MessageType)((byte)request.Operation | (byte)MessageType.ReplyBit), FrameFlags.None, status, request.RequestId);

    private Socket Connection => _connection ?? throw new InvalidOperationException("no client is connected");
}
