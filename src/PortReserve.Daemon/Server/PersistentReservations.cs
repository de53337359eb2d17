using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Persistent reservations: create, delete and lookup, for administrators (lookups for anyone). Each create and delete
/// is a unit of work of <see cref="PersistentChanges"/>, which owns their order and what reaches the kernel and the store when.
/// </summary>
internal sealed class PersistentReservations(
    ReservationLedger ledger, PersistentChanges changes, AccessPolicy access, RequestAudit audit, DaemonCounters counters, TimeProvider time, ILogger logger)
{
    private const string NothingChanged = "nothing was changed";

    /// <summary>Creates a persistent reservation: administrators only; acknowledged once the kernel and the store hold it.</summary>
    public async Task<Refusable<Reservation>> CreateAsync(CreatePersistentRequest request, Principal requester)
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

        return await changes.InOrderAsync<Refusable<Reservation>>(async () =>
        {
            (IReadOnlyList<Reservation> created, IReadOnlyList<Refusal?> refusals, Refusal? storeFailure) = await changes.CreateAsync(
                [(request.Block, consumers, null)], pending => new StoredReservation(pending.Block, consumers, requester.Uid, time.GetUtcNow()), NothingChanged).ConfigureAwait(false);
            if ((refusals[0] ?? storeFailure) is { } refusal)
            {
                return audit.Refused(refusal, operation, requester.Pid, requester.Uid);
            }

            Reservation made = created[0];
            counters.OnAcquired();
            DaemonLog.PersistentCreated(logger, made.Block, requester.Pid, requester.Uid, consumers.Describe());
            return (Refusable<Reservation>)made;
        }).ConfigureAwait(false);
    }

    /// <summary>Deletes the persistent reservation of exactly that block: administrators only; acknowledged once it is off disk.</summary>
    public async Task<Refusable<Reservation>> DeleteAsync(PortBlock block, Principal requester)
    {
        string operation = $"delete persistent {block}";
        if (RequireAdministrator(requester, "delete a persistent reservation") is { } denied)
        {
            return audit.Refused(denied, operation, requester.Pid, requester.Uid);
        }

        return await changes.InOrderAsync<Refusable<Reservation>>(async () =>
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

            if ((await changes.DeleteAsync([found], s => s.Remove(found.Block), NothingChanged).ConfigureAwait(false)).StoreFailure is { } storeFailure)
            {
                return audit.Refused(storeFailure, operation, requester.Pid, requester.Uid);
            }

            counters.OnReleased();
            DaemonLog.PersistentDeleted(logger, found.Block, requester.Pid, requester.Uid);
            return (Refusable<Reservation>)found;
        }).ConfigureAwait(false);
    }

    /// <summary>The current token of the persistent reservation of exactly that block; anyone may look it up.</summary>
    public Refusable<Reservation> Lookup(PortBlock block, Principal requester)
    {
        Refusable<Reservation> result = ledger.FindPersistent(block);
        return result.TryGet(out _, out Refusal? refusal) ? result : audit.Refused(refusal, $"look up persistent {block}", requester.Pid, requester.Uid);
    }

    private Refusal? RequireAdministrator(Principal requester, string what)
        => requester.IsAdministrator ? null : new Refusal(PortReservationErrorKind.AccessDenied, $"uid {requester.Uid} may not {what}: that needs an administrator, {access.Describe()}");
}
