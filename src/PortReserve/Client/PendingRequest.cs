using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>A request waiting for its reply frames.</summary>
internal sealed class PendingRequest(MessageType type)
{
    private readonly TaskCompletionSource<Reply> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Reply? _reply;
    private volatile bool _abandoned;

    public MessageType Type { get; } = type;

    public Task<Reply> Completion => _completion.Task;

    public bool IsAbandoned => _abandoned;

    public void Abandon() => _abandoned = true;

    /// <summary>Adds one frame; true when it was the last of the reply.</summary>
    public bool Add(FrameHeader header, ReadOnlySpan<byte> payload)
    {
        _reply ??= new Reply(header.Error);
        _reply.Payloads.Add(payload.ToArray());
        if ((header.Flags & FrameFlags.More) != 0 && header.Error is null)
        {
            return false;
        }

        _completion.TrySetResult(_reply);
        return true;
    }

    public void Fail(Exception exception) => _completion.TrySetException(exception);
}
