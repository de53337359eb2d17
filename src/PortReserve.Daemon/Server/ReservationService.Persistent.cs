using Microsoft.Data.Sqlite;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

internal sealed partial class ReservationService
{
    private const int MaxAccountNameLength = 64;

    /// <summary>
    /// Creates a persistent reservation: administrators only; acknowledged once the store has it on disk and the kernel
    /// list holds it. A failure at either step undoes the others.
    /// </summary>
    public async Task<TableResult> CreatePersistentAsync(CreatePersistentRequest request, Requester requester)
    {
        if (RequireAdministrator(requester, "create a persistent reservation") is { } denied)
        {
            return denied;
        }

        if (ResolveConsumers(request, out string? unresolved) is not { } consumers)
        {
            return TableResult.Fail(PortReservationErrorKind.InvalidArgument, unresolved!);
        }

        var range = new PortRange(request.Block.Start, request.Block.Count);
        TableResult result;
        lock (Gate)
        {
            result = Table.CreatePersistent(request.Block.Protocol, range, consumers);
        }

        if (!result.Succeeded)
        {
            _metrics?.OnRefused(result.Error!.Value);
            DaemonLog.PersistentRefused(logger, requester.Pid, requester.Uid, "create", result.Message!);
            return result;
        }

        Reservation created = result.Reservation!;
        var stored = new StoredReservation(created.Protocol, created.Range, consumers, requester.Uid, identity.Time.GetUtcNow());
        if (await TryStoreAsync(() => store.AddAsync(stored)).ConfigureAwait(false) is { } storeFailure)
        {
            Undo(() => Table.DeletePersistent(created.Protocol, created.Range));
            return storeFailure;
        }

        if (await WaitForKernelAsync(CommitUnderGate()).ConfigureAwait(false) is { } kernelFailure)
        {
            await TryStoreAsync(() => store.RemoveAsync(created.Protocol, created.Range)).ConfigureAwait(false);
            Undo(() => Table.DeletePersistent(created.Protocol, created.Range));
            return kernelFailure;
        }

        _metrics?.OnAcquired();
        DaemonLog.PersistentCreated(logger, created.Protocol, created.Range, requester.Pid, requester.Uid, Describe(consumers));
        return result;
    }

    /// <summary>Deletes the persistent reservation of exactly that block: administrators only; durable when acknowledged.</summary>
    public async Task<TableResult> DeletePersistentAsync(BlockRequest request, Requester requester)
    {
        if (RequireAdministrator(requester, "delete a persistent reservation") is { } denied)
        {
            return denied;
        }

        TableResult result;
        lock (Gate)
        {
            result = Table.DeletePersistent(request.Protocol, new PortRange(request.Start, request.Count));
        }

        if (!result.Succeeded)
        {
            _metrics?.OnRefused(result.Error!.Value);
            DaemonLog.PersistentRefused(logger, requester.Pid, requester.Uid, "delete", result.Message!);
            return result;
        }

        Reservation deleted = result.Reservation!;
        if (await TryStoreAsync(() => store.RemoveAsync(deleted.Protocol, deleted.Range)).ConfigureAwait(false) is { } storeFailure)
        {
            Undo(() => Table.Reinstate(deleted));
            return storeFailure;
        }

        _metrics?.OnReleased();
        DaemonLog.PersistentDeleted(logger, deleted.Protocol, deleted.Range, requester.Pid, requester.Uid);

        // The store no longer has it; a failed kernel write was logged and the next write retries it.
        _ = await WaitForKernelAsync(CommitUnderGate()).ConfigureAwait(false);
        return result;
    }

    /// <summary>The current token of the persistent reservation of exactly that block; anyone may look it up.</summary>
    public TableResult LookupPersistent(BlockRequest request)
    {
        lock (Gate)
        {
            return Table.FindPersistent(request.Protocol, new PortRange(request.Start, request.Count));
        }
    }

    /// <summary>Puts the stored persistent reservations into the table at start-up, each with a new token.</summary>
    public int RestorePersistent()
    {
        IReadOnlyList<StoredReservation> stored = store.LoadAll();
        lock (Gate)
        {
            foreach (StoredReservation reservation in stored)
            {
                Table.RestorePersistent(reservation.Protocol, reservation.Range, reservation.Consumers);
            }
        }

        return stored.Count;
    }

    private TableResult? RequireAdministrator(Requester requester, string what)
    {
        if (requester.IsAdministrator)
        {
            return null;
        }

        string message = $"uid {requester.Uid} may not {what}: that needs an administrator, {access.Describe()}";
        _metrics?.OnRefused(PortReservationErrorKind.AccessDenied);
        DaemonLog.PersistentRefused(logger, requester.Pid, requester.Uid, what, message);
        return TableResult.Fail(PortReservationErrorKind.AccessDenied, message);
    }

    /// <summary>The named users and groups as ids, or null with <paramref name="error"/> saying which name did not resolve.</summary>
    private static PersistentConsumers? ResolveConsumers(CreatePersistentRequest request, out string? error)
    {
        if (request.AllowUsers.Concat(request.AllowGroups).FirstOrDefault(n => n.Length is 0 or > MaxAccountNameLength) is { } bad)
        {
            error = $"'{bad[..Math.Min(bad.Length, 40)]}' is not a user or group name (1-{MaxAccountNameLength} characters)";
            return null;
        }

        List<Consumer>? users = Resolve(request.AllowUsers, Interop.Accounts.UserId, "--allow-user", "user", out error);
        List<Consumer>? groups = users is null ? null : Resolve(request.AllowGroups, Interop.Accounts.GroupId, "--allow-group", "group", out error);
        return groups is null ? null : new PersistentConsumers([.. users!.DistinctBy(u => u.Id).OrderBy(u => u.Id)], [.. groups.DistinctBy(g => g.Id).OrderBy(g => g.Id)]);
    }

    private static List<Consumer>? Resolve(IReadOnlyList<string> names, Func<string, uint?> lookup, string option, string what, out string? error)
    {
        var resolved = new List<Consumer>();
        foreach (string name in names.Distinct(StringComparer.Ordinal))
        {
            if (lookup(name) is not { } id)
            {
                error = $"{option} {name}: no such {what} on this machine";
                return null;
            }

            resolved.Add(new Consumer(id, name));
        }

        error = null;
        return resolved;
    }

    private static string Describe(PersistentConsumers consumers)
        => consumers.Users.Count + consumers.Groups.Count == 0
            ? "administrators only"
            : string.Join(", ", consumers.Users.Select(u => $"user {u}").Concat(consumers.Groups.Select(g => $"group {g}")));

    private async Task<TableResult?> TryStoreAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
            return null;
        }
        catch (SqliteException e)
        {
            DaemonLog.StoreWriteFailed(logger, store.FilePath, e);
            return TableResult.Fail(PortReservationErrorKind.ServiceUnavailable, $"the persistent store {store.FilePath} could not be written ({e.Message}); nothing was changed");
        }
    }

    private void Undo(Action change)
    {
        lock (Gate)
        {
            change();
            RequestCommit().Forget();
        }
    }

    private KernelCommit CommitUnderGate()
    {
        lock (Gate)
        {
            return RequestCommit();
        }
    }
}
