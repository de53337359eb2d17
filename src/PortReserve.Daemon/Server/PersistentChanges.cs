using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The one unit of work of persistent reservations, across the table, the kernel and the store, and the one order they
/// change in: whatever changes persistent reservations (a create, a delete, the reservations.d files applied) runs in
/// <see cref="InOrderAsync{T}"/>, one at a time (an fsync each; administrators' operations, not a hot path).
/// <list type="bullet">
/// <item>A create places its blocks pending (their ports taken, nobody sees them) and waits for the kernel, writes the
/// store, and only then publishes them; when the store refuses, every one is withdrawn, and none was visible meanwhile.</item>
/// <item>A delete writes the store first, then takes the blocks out of the table and the kernel; a store that refuses
/// changes nothing.</item>
/// </list>
/// So a lookup never hands out the token of a block that is not on disk, and a restarted daemon restores exactly what
/// was acknowledged (plus, at most, the change in flight when it died).
/// </summary>
internal sealed class PersistentChanges(ReservationLedger ledger, PersistentStore store, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _order = new(1, 1);

    /// <summary>Runs <paramref name="change"/> alone: no other persistent change starts before it ends.</summary>
    public async Task<T> InOrderAsync<T>(Func<Task<T>> change)
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            return await change().ConfigureAwait(false);
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>
    /// Creates persistent reservations (in <see cref="InOrderAsync{T}"/>): each block placed and enforced, then the rows of
    /// those placed stored at once (<paramref name="row"/>), then all published. Those the table refused come back with
    /// their refusals; when the store refused, nothing was created and its refusal comes back.
    /// </summary>
    public async Task<(IReadOnlyList<Reservation> Created, IReadOnlyList<Refusal?> Refusals, Refusal? StoreFailure)> CreateAsync(
        IReadOnlyList<(PortBlock Block, PersistentConsumers Consumers, string? Source)> blocks, Func<Reservation, StoredReservation> row, string unchanged)
    {
        var placed = new List<Reservation>();
        var refusals = new List<Refusal?>();
        foreach ((PortBlock block, PersistentConsumers consumers, string? source) in blocks)
        {
            Refusable<Reservation> result = await ledger.PlacePersistentAsync(block, consumers, source).ConfigureAwait(false);
            if (result.TryGet(out Reservation? pending, out Refusal? refusal))
            {
                placed.Add(pending);
                refusals.Add(null);
            }
            else
            {
                refusals.Add(refusal);
            }
        }

        if (placed.Count > 0 && store.TryWrite(s => s.Add([.. placed.Select(row)]), logger, unchanged) is { } storeFailure)
        {
            placed.ForEach(ledger.Withdraw);
            return ([], refusals, storeFailure);
        }

        placed.ForEach(ledger.Publish);
        return (placed, refusals, null);
    }

    /// <summary>
    /// Deletes persistent reservations (in <see cref="InOrderAsync{T}"/>): <paramref name="write"/> takes them (and whatever
    /// else it changes) off disk first, then they leave the table and the kernel, and <paramref name="redeclared"/> lines
    /// get their new form. When the store refuses, nothing changed: its refusal comes back.
    /// </summary>
    public async Task<(Refusal? StoreFailure, int Redeclared)> DeleteAsync(
        IReadOnlyCollection<Reservation> deleted, Action<PersistentStore> write, string unchanged,
        IReadOnlyList<(Reservation Declared, PersistentConsumers Consumers, string Source)>? redeclared = null)
    {
        if (store.TryWrite(write, logger, unchanged) is { } storeFailure)
        {
            return (storeFailure, 0);
        }

        await ledger.DeletePersistentAsync(deleted).ConfigureAwait(false);
        return (null, redeclared is null ? 0 : await ledger.RedeclareAsync(redeclared).ConfigureAwait(false));
    }

    public void Dispose() => _order.Dispose();
}
