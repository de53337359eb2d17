using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// A request waiting for its reply frames. Its reply and its caller's cancellation may cross: exactly one of
/// <see cref="TryComplete"/> (the receive loop) and <see cref="TryAbandon"/> (the cancelled caller) wins, so a late
/// grant is always either handed to the caller or given back, never both and never neither.
/// </summary>
internal sealed class PendingRequest(MessageType type)
{
    private const int Waiting = 0;
    private const int Completed = 1;
    private const int Abandoned = 2;

    private readonly TaskCompletionSource<Reply> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Reply? _reply;
    private int _state;

    public MessageType Type { get; } = type;

    public Task<Reply> Completion => _completion.Task;

    /// <summary>Adds one frame; returns the whole reply once its last frame is in, else null.</summary>
    public Reply? Add(FrameHeader header, ReadOnlySpan<byte> payload)
    {
        _reply ??= new Reply(header.Error);
        _reply.Payloads.Add(payload.ToArray());
        return (header.Flags & FrameFlags.More) != 0 && header.Error is null ? null : _reply;
    }

    /// <summary>Hands the reply to the caller; false when the caller gave up first, and the reply is the receiver's to undo.</summary>
    public bool TryComplete(Reply reply)
    {
        if (Interlocked.CompareExchange(ref _state, Completed, Waiting) != Waiting)
        {
            return false;
        }

        _completion.SetResult(reply);
        return true;
    }

    /// <summary>The caller gives up; false when the reply was already handed over, and the caller must take it.</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    public void Fail(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _state, Completed, Waiting) == Waiting)
        {
            _completion.SetException(exception);
        }
    }
}
