using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Persistent reservations: create, delete and lookup. Each create and delete is one unit of work across the table,
/// the kernel and the store, and they run one at a time (an fsync each; administrators' operations, not a hot path):
/// <list type="bullet">
/// <item>create places the block pending (its ports taken, nobody sees it), waits for the kernel, writes the store, and
/// only then publishes it; a failure at any step withdraws it, and nothing was visible meanwhile;</item>
/// <item>delete removes the row from the store first, then the block from the table and the kernel; a failed store
/// write changes nothing.</item>
/// </list>
/// So a lookup never hands out the token of a block that is not on disk, and a restarted daemon restores exactly what
/// was acknowledged (plus, at most, the operation in flight when it died).
/// </summary>
internal sealed class PersistentReservations(
    ReservationLedger ledger, PersistentStore store, AccessPolicy access, RequestAudit audit, DaemonCounters counters, TimeProvider time, ILogger logger) : IDisposable
{
    private const string NothingChanged = "nothing was changed";
    private readonly SemaphoreSlim _order = new(1, 1);

    /// <summary>Persistent changes run one at a time in this order; applying the reservations.d files takes its turn in it too.</summary>
    public SemaphoreSlim Order => _order;

    /// <summary>Creates a persistent reservation: administrators only; acknowledged once the kernel and the store hold it.</summary>
    public async Task<TableResult<Reservation>> CreateAsync(CreatePersistentRequest request, Requester requester)
    {
        string operation = $"create persistent {request.Block}";
        if (RequireAdministrator(requester, "create a persistent reservation") is { } denied)
        {
            return audit.Refused(denied, operation, requester.Pid, requester.Uid);
        }

        if (!ConsumerNames.Resolve(request.AllowUsers, request.AllowGroups).TryGet(out PersistentConsumers? consumers, out Refusal? unresolved))
        {
            return audit.Refused(unresolved, operation, requester.Pid, requester.Uid);
        }

        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            TableResult<Reservation> placed = await ledger.PlacePersistentAsync(request.Block, consumers).ConfigureAwait(false);
            if (!placed.TryGet(out Reservation? pending, out Refusal? refusal))
            {
                return audit.Refused(refusal, operation, requester.Pid, requester.Uid);
            }

            if (store.TryWrite(s => s.Add(new StoredReservation(pending.Block, consumers, requester.Uid, time.GetUtcNow())), logger, NothingChanged) is { } storeFailure)
            {
                ledger.Withdraw(pending);
                return audit.Refused(storeFailure, operation, requester.Pid, requester.Uid);
            }

            ledger.Publish(pending);
            counters.OnAcquired();
            DaemonLog.PersistentCreated(logger, pending.Block, requester.Pid, requester.Uid, consumers.Describe());
            return pending;
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>Deletes the persistent reservation of exactly that block: administrators only; acknowledged once it is off disk.</summary>
    public async Task<TableResult<Reservation>> DeleteAsync(PortBlock block, Requester requester)
    {
        string operation = $"delete persistent {block}";
        if (RequireAdministrator(requester, "delete a persistent reservation") is { } denied)
        {
            return audit.Refused(denied, operation, requester.Pid, requester.Uid);
        }

        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!ledger.FindPersistent(block).TryGet(out Reservation? found, out Refusal? refusal))
            {
                return audit.Refused(refusal, operation, requester.Pid, requester.Uid);
            }

            if (found.Source is { } source)
            {
                var declared = new Refusal(
                    PortReservationErrorKind.AccessDenied,
                    $"persistent reservation {found.Block} is declared at {source}: remove or edit that line, then run portreserve reload; delete removes only reservations made with portreserve add");
                return audit.Refused(declared, operation, requester.Pid, requester.Uid);
            }

            if (store.TryWrite(s => s.Remove(found.Block), logger, NothingChanged) is { } storeFailure)
            {
                return audit.Refused(storeFailure, operation, requester.Pid, requester.Uid);
            }

            await ledger.RemovePersistentAsync(found).ConfigureAwait(false);
            counters.OnReleased();
            DaemonLog.PersistentDeleted(logger, found.Block, requester.Pid, requester.Uid);
            return found;
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>The current token of the persistent reservation of exactly that block; anyone may look it up.</summary>
    public TableResult<Reservation> Lookup(PortBlock block, Requester requester)
    {
        TableResult<Reservation> result = ledger.FindPersistent(block);
        return result.TryGet(out _, out Refusal? refusal) ? result : audit.Refused(refusal, $"look up persistent {block}", requester.Pid, requester.Uid);
    }

    public void Dispose() => _order.Dispose();

    private Refusal? RequireAdministrator(Requester requester, string what)
        => requester.IsAdministrator ? null : new Refusal(PortReservationErrorKind.AccessDenied, $"uid {requester.Uid} may not {what}: that needs an administrator, {access.Describe()}");
}
