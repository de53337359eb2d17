using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Core;
using PortReserve.Daemon.Metrics;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Declarations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Persistent reservations declared in reservations.d files, applied at start (before the daemon serves anyone), on
/// <c>portreserve reload</c> and on SIGHUP. Applying is a difference, never a rebuild: a line still there keeps its
/// reservation and token (its allow-lists are updated), a new line adds one, a reservation whose line is gone goes.
/// Reservations made with <c>portreserve add</c> are never touched. Declared reservations are in the store too, so that a
/// restart knows which ports were declared before and keeps them in the kernel without a gap while it reads the files.
/// </summary>
/// <remarks>
/// A line that names an unknown user or group is skipped, but an existing reservation of exactly its block is kept as it
/// was: a typo in an allow-list must not take a running service's port away. Applying is one persistent change
/// (<see cref="PersistentChanges"/>), in the order of creates and deletes, so a file and a command never change the
/// same block at once.
/// </remarks>
internal sealed class DeclaredReservations(
    ReservationLedger ledger, PersistentChanges changes, IReadOnlyList<string> directories, DaemonCounters counters, TimeProvider time, ILogger logger)
{
    private const string NotChanged = "the declared reservations were not changed";
    private volatile ReloadReply? _last;

    /// <summary>The directories read, in order (later ones override earlier ones by file name).</summary>
    public IReadOnlyList<string> Directories => directories;

    /// <summary>What the last application did; null before the first.</summary>
    public ReloadReply? Last => _last;

    /// <summary><c>portreserve reload</c>: administrators only.</summary>
    public async Task<Refusable<ReloadReply>> ReloadAsync(Principal requester, AccessPolicy access)
    {
        if (!requester.IsAdministrator)
        {
            return new Refusal(PortReservationErrorKind.AccessDenied, $"uid {requester.Uid} may not reload the reservations.d files: that needs an administrator, {access.Describe()}");
        }

        DaemonLog.DeclarationsReloading(logger, $"uid {requester.Uid} (pid {requester.Pid})");
        return await ApplyAsync().ConfigureAwait(false);
    }

    /// <summary>Reads the files and applies the difference; a store that cannot be written is the only refusal.</summary>
    public async Task<Refusable<ReloadReply>> ApplyAsync()
    {
        DeclarationSet set = DeclarationSet.LoadDirectories(directories, name => Interop.Accounts.UserId(name) is not null, name => Interop.Accounts.GroupId(name) is not null);
        return await changes.InOrderAsync(async () =>
        {
            Refusable<ReloadReply> result = await ApplyAsync(set).ConfigureAwait(false);
            if (result.TryGet(out ReloadReply? reply, out Refusal? refusal))
            {
                _last = reply;
                foreach ((string file, int line, string reason) in reply.Problems)
                {
                    DaemonLog.DeclarationSkipped(logger, new DeclarationProblem(file, line, reason).ToString());
                }

                DaemonLog.DeclarationsApplied(logger, reply.Files, string.Join(", ", directories), reply.Added, reply.Removed, reply.Updated, reply.Unchanged, reply.TotalProblems);
            }
            else
            {
                DaemonLog.DeclarationsNotApplied(logger, refusal.Message);
            }

            return result;
        }).ConfigureAwait(false);
    }

    private async Task<Refusable<ReloadReply>> ApplyAsync(DeclarationSet set)
    {
        var problems = new List<DeclarationProblem>(set.Problems);
        Dictionary<PortBlock, Reservation> current = ledger.Read(view => view.Reservations.Where(r => r.Source is not null).ToDictionary(r => r.Block));

        // Each valid line with its users and groups as ids (and its groups' members, for the bind hook).
        var wanted = new List<(DeclaredBlock Line, PortBlock Block, PersistentConsumers Consumers)>();
        var keptAsTheyWere = new HashSet<PortBlock>(set.Unresolved.Select(BlockOf));
        foreach (DeclaredBlock line in set.Blocks)
        {
            if (ConsumerNames.Resolve(line.Users, line.Groups).TryGet(out PersistentConsumers? consumers, out Refusal? unresolved))
            {
                wanted.Add((line, BlockOf(line), consumers));
            }
            else
            {
                problems.Add(new DeclarationProblem(line.File, line.Line, unresolved.Message));
                keptAsTheyWere.Add(BlockOf(line));
            }
        }

        HashSet<PortBlock> declared = [.. wanted.Select(w => w.Block)];
        List<Reservation> removed = [.. current.Values.Where(r => !declared.Contains(r.Block) && !keptAsTheyWere.Contains(r.Block))];
        var kept = wanted.Where(w => current.ContainsKey(w.Block)).Select(w => (Declared: current[w.Block], w.Consumers, w.Line.Source)).ToList();
        var added = wanted.Where(w => !current.ContainsKey(w.Block)).ToList();
        DateTimeOffset now = time.GetUtcNow();

        // 1. Off disk first, as for a delete: what goes, and the new form of what changed.
        List<StoredReservation> rewritten = [.. kept
            .Where(k => k.Declared.Source != k.Source || !(k.Declared.Consumers ?? PersistentConsumers.None).SameAs(k.Consumers))
            .Select(k => new StoredReservation(k.Declared.Block, k.Consumers, 0, now, k.Source))];
        (Refusal? storeFailure, int updated) = await changes.DeleteAsync(removed, s => s.Replace([.. removed.Select(r => r.Block)], rewritten), NotChanged, kept).ConfigureAwait(false);
        if (storeFailure is not null)
        {
            return storeFailure;
        }

        counters.OnReleased(removed.Count);

        // 2. New lines as for a create: placed (checked against everything live, kernel first), stored, then published.
        (IReadOnlyList<Reservation> placed, IReadOnlyList<Refusal?> conflicts, Refusal? addFailure) = await changes.CreateAsync(
            [.. added.Select(a => (a.Block, a.Consumers, (string?)a.Line.Source))], p => new StoredReservation(p.Block, p.Consumers!, 0, now, p.Source), NotChanged).ConfigureAwait(false);
        for (int i = 0; i < added.Count; i++)
        {
            if ((conflicts[i] ?? addFailure) is { } notApplied)
            {
                problems.Add(new DeclarationProblem(added[i].Line.File, added[i].Line.Line, $"{added[i].Line.Describe()} not applied: {notApplied.Message}"));
            }
        }

        counters.OnAcquired(placed.Count);
        List<DeclarationProblem> ordered = DeclarationProblem.InReadingOrder(problems, set.Files);
        return new ReloadReply(set.Files.Count, placed.Count, removed.Count, updated, kept.Count - updated, [.. ordered.Select(p => (p.File, p.Line, p.Reason))], ordered.Count);
    }

    private static PortBlock BlockOf(DeclaredBlock line) => new(line.Protocol, line.Start, line.Count);
}
