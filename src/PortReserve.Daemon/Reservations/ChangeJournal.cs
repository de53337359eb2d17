namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The table's changes in the order they were made, kept for the kernel sinks to mirror (<see cref="TakeChanges"/>);
/// a table nobody mirrors keeps none.
/// </summary>
internal sealed class ChangeJournal(bool keep)
{
    private readonly List<ReservationChange>? _changes = keep ? [] : null;

    /// <summary>Whether changes are kept at all.</summary>
    public bool IsKept => _changes is not null;

    /// <summary>True when changes wait for <see cref="TakeChanges"/>.</summary>
    public bool HasChanges => _changes is { Count: > 0 };

    public void Record(ReservationChange change) => _changes?.Add(change);

    /// <summary>Moves the changes made since the last call into <paramref name="destination"/>, in order.</summary>
    public void TakeChanges(List<ReservationChange> destination)
    {
        if (_changes is { Count: > 0 })
        {
            destination.AddRange(_changes);
            _changes.Clear();
        }
    }
}
