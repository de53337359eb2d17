using System.Runtime.InteropServices;
using PortReserve.Interop;

namespace PortReserve.Daemon.Server;

/// <summary>
/// A connection's replies on their way out: each frame sent at once (MSG_DONTWAIT: the loop never blocks on one
/// client), or, while the client is not reading, kept in order until the socket has room. The connection learns when
/// to wait for room, when the room came, and when the client is gone.
/// </summary>
/// <param name="socket">The connection's socket.</param>
/// <param name="waitForRoom">The first frame could not go: the connection should now wait for the socket to be writable.</param>
/// <param name="roomAgain">Every kept frame went out: the connection should read again.</param>
/// <param name="broken">A send failed for good (the errno): the client went away.</param>
internal sealed class ReplyQueue(SafeHandle socket, Action waitForRoom, Action roomAgain, Action<int> broken)
{
    private Queue<byte[]>? _unsent;
    private bool _broken;

    /// <summary>True while frames wait for room.</summary>
    public bool IsWaiting => _unsent is not null;

    /// <summary>Sends <paramref name="frame"/>, or keeps a copy behind those already waiting.</summary>
    public void Send(ReadOnlySpan<byte> frame)
    {
        if (_broken || (_unsent is null && TrySend(frame)) || _broken)
        {
            return;
        }

        if (_unsent is null)
        {
            _unsent = new Queue<byte[]>();
            waitForRoom();
        }

        _unsent.Enqueue(frame.ToArray());
    }

    /// <summary>The socket has room: sends what waits, as much as goes.</summary>
    public void OnRoom()
    {
        while (_unsent is { } unsent && unsent.TryPeek(out byte[]? frame))
        {
            if (!TrySend(frame))
            {
                return;
            }

            unsent.Dequeue();
        }

        if (!_broken && _unsent is not null)
        {
            _unsent = null;
            roomAgain();
        }
    }

    /// <summary>Drops what waits: the connection is closing, and nobody will read it.</summary>
    public void Clear() => _unsent = null;

    /// <summary>True when sent; false when there is no room (or the connection broke).</summary>
    private bool TrySend(ReadOnlySpan<byte> frame)
    {
        switch (Libc.SendNoWait(socket, frame))
        {
            case 0:
                return true;
            case Libc.EAGAIN:
                return false;
            case int errno:
                _broken = true;
                _unsent = null;
                broken(errno);
                return false;
        }
    }
}
