using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// A request waiting for its reply frames. Its reply and its caller's cancellation may cross: exactly one of
/// <see cref="TryClaim"/> (the reader) and <see cref="TryAbandon"/> (the cancelled caller) wins, so a late grant is
/// always either handed to the caller or given back, never both and never neither.
/// </summary>
internal sealed class PendingRequest(MessageType type, long deadline = long.MaxValue) : IThreadPoolWorkItem
{
    private const int Waiting = 0;
    private const int Completed = 1;
    private const int Abandoned = 2;

    // Continuations run where the result is set: the reader decides where that is (ReplyReader.Read).
    private readonly TaskCompletionSource<Reply> _completion = new();
    private Reply? _reply;
    private Exception? _failure;
    private int _state;

    public MessageType Type { get; } = type;

    /// <summary>When (Environment.TickCount64) the caller stops waiting and the request fails as not answered.</summary>
    public long Deadline { get; } = deadline;

    public Task<Reply> Completion => _completion.Task;

    /// <summary>Adds one frame; returns the whole reply once its last frame is in, else null.</summary>
    public Reply? Add(FrameHeader header, ReadOnlySpan<byte> payload)
    {
        _reply ??= new Reply(header.Error);
        _reply.Payloads.Add(payload.ToArray());
        return (header.Flags & FrameFlags.More) != 0 && header.Error is null ? null : _reply;
    }

    /// <summary>Claims the whole reply for the caller; false when the caller gave up first, and the reply is the reader's to undo.</summary>
    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Completed, Waiting) == Waiting;

    /// <summary>Hands a claimed reply to the caller, whose continuation runs on this thread.</summary>
    public void CompleteHere() => _completion.SetResult(_reply!);

    /// <summary>Hands a claimed reply to the caller, whose continuation runs on the thread pool.</summary>
    public void CompleteOnThreadPool() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>The caller gives up; false when the reply was already handed over, and the caller must take it.</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    /// <summary>The daemon did not answer in time: the caller fails with <paramref name="exception"/>, unless its reply came first.</summary>
    public void TryTimeOut(Exception exception)
    {
        if (TryAbandon())
        {
            _failure = exception;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>Fails the caller, on the thread pool (the failing thread has others to fail), unless it has its answer.</summary>
    public void Fail(Exception exception)
    {
        if (TryClaim())
        {
            _failure = exception;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_failure is { } failure)
        {
            _completion.SetException(failure);
        }
        else
        {
            CompleteHere();
        }
    }
}
