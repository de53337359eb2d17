using Microsoft.Extensions.Logging;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// What the connections of one event loop share: the loop, the request handlers, the turn's kernel commit, and one
/// receive and one send buffer (only the loop's thread touches them, one frame at a time, so idle connections cost none).
/// </summary>
internal sealed class ConnectionServices(EventLoop loop, RequestHandlers handlers, TurnCommit commit, Action<ClientConnection> finished, RequestAudit audit, ILogger logger)
{
    public EventLoop Loop { get; } = loop;

    public RequestHandlers Handlers { get; } = handlers;

    public TurnCommit Commit { get; } = commit;

    public ILogger Logger { get; } = logger;

    public RequestAudit Audit { get; } = audit;

    public byte[] ReceiveBuffer { get; } = new byte[FrameHeader.MaxRequestSize + 1];

    public byte[] SendBuffer { get; } = new byte[FrameHeader.MaxFrameSize];

    /// <summary>A connection closed and gave its reservations back.</summary>
    public void Finished(ClientConnection connection) => finished(connection);
}
