using System.Collections.Concurrent;
using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>
/// The requests of one connection that wait for their replies, by request id (given out here). A request is in the
/// table from before it is sent until its reply is whole, it fails, or it turns out never to have been sent.
/// </summary>
internal sealed class PendingRequests
{
    private readonly ConcurrentDictionary<uint, PendingRequest> _waiting = new();
    private uint _nextId;

    public bool IsEmpty => _waiting.IsEmpty;

    /// <summary>Registers a request of <paramref name="type"/> that gives up at <paramref name="deadline"/> (Environment.TickCount64), under a new id.</summary>
    public (uint Id, PendingRequest Request) Add(MessageType type, long deadline)
    {
        uint id = Interlocked.Increment(ref _nextId);
        var pending = new PendingRequest(type, deadline);
        _waiting[id] = pending;
        return (id, pending);
    }

    /// <summary>The request waiting under <paramref name="id"/> for a reply of <paramref name="type"/>; false when none is.</summary>
    public bool TryGet(uint id, MessageType type, out PendingRequest pending)
        => _waiting.TryGetValue(id, out pending!) && pending.Type == type;

    public void Remove(uint id) => _waiting.TryRemove(id, out _);

    /// <summary>Fails every waiting request with <paramref name="failure"/> (a request that registers meanwhile sees the connection closed).</summary>
    public void FailAll(Exception failure)
    {
        foreach (uint id in _waiting.Keys)
        {
            if (_waiting.TryRemove(id, out PendingRequest? pending))
            {
                pending.Fail(failure);
            }
        }
    }

    /// <summary>
    /// Gives up every request past its deadline at <paramref name="now"/>, with the failure <paramref name="notAnswered"/>
    /// makes for its type (its late reply is undone when it comes); whether any is left waiting.
    /// </summary>
    public bool TimeOut(long now, Func<MessageType, Exception> notAnswered)
    {
        bool waiting = false;
        foreach (PendingRequest pending in _waiting.Values)
        {
            if (pending.Deadline > now)
            {
                waiting = true;
            }
            else
            {
                pending.TryTimeOut(notAnswered(pending.Type));
            }
        }

        return waiting;
    }
}
