using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Group commit for the event loop: the replies to a turn's changes wait here, the turn ends with one kernel commit
/// covering them all (on the loop's thread: no hop, one write however many clients asked), and then they go out. An
/// acquire the kernel refused is taken back and refused, as is an associate whose use the hook did not take; a release
/// is answered either way (the sink that failed converges later). A reply that throws costs no other its answer.
/// </summary>
internal sealed class TurnCommit(ReservationLedger ledger, RuntimeReservations runtime, ILogger logger)
{
    private List<Waiting> _waiting = [];
    private List<Waiting> _answering = [];
    private long _version;

    /// <summary>Holds <paramref name="connection"/>'s reply to <paramref name="request"/> until the change <paramref name="version"/> is committed.</summary>
    /// <param name="requested">What an acquire asked for, so that a wildcard block found in use can be replaced.</param>
    public void Add(ClientConnection connection, FrameHeader request, Refusable<Reservation> result, long version, PortBlock requested = default)
    {
        _waiting.Add(new Waiting(connection, request, result, requested));
        _version = Math.Max(_version, version);
    }

    /// <summary>Commits the turn's changes and sends the replies that waited for them.</summary>
    public void OnTurnEnded()
    {
        if (_waiting.Count == 0)
        {
            return;
        }

        Exception? failure;
        try
        {
            failure = ledger.CommitThrough(_version);
        }
        catch (Exception e)
        {
            // Not a refusal the kernel gave but a fault; still, nothing unenforced is granted.
            DaemonLog.EventLoopHandlerFailed(logger, e);
            failure = e;
        }

        // A reply may close its connection (the client is gone); the ports it held go back like any departed holder's.
        (_answering, _waiting) = (_waiting, _answering);
        _version = 0;
        try
        {
            foreach (Waiting waiting in _answering)
            {
                try
                {
                    waiting.Connection.Reply(waiting.Request, Outcome(waiting, failure));
                }
                catch (Exception e)
                {
                    DaemonLog.EventLoopHandlerFailed(logger, e);
                    waiting.Connection.Close();
                }
            }
        }
        finally
        {
            _answering.Clear();
        }
    }

    private Refusable<Reservation> Outcome(Waiting waiting, Exception? failure) => waiting.Request.Operation switch
    {
        MessageType.Acquire => runtime.Acquired(waiting.Result, failure, waiting.Requested, waiting.Connection.Owner),

        // Only an associate with a persistent reservation changes the hook (its process may then bind the ports).
        MessageType.Associate when failure is not null && waiting.Result.TryGet(out Reservation? used, out _) && used.Owner is null
            => new Refusal(PortReservationErrorKind.ServiceUnavailable, $"the bind hook did not take this process's use of {used.Block} ({failure.Message}); nothing was granted, try again"),
        _ => waiting.Result,
    };

    private readonly record struct Waiting(ClientConnection Connection, FrameHeader Request, Refusable<Reservation> Result, PortBlock Requested);
}
