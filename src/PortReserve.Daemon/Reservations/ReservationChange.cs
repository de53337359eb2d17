namespace PortReserve.Daemon.Reservations;

/// <summary>
/// One change of the table that a kernel sink may have to mirror, in the order the table made them: a reservation
/// placed or taken out, a runtime holder's process tree named (its cgroup), a process let use a persistent reservation
/// for as long as its holder lasts, a holder's process gone (its pid may come back as another's), a holder gone, or a
/// persistent reservation's allow-lists changed.
/// </summary>
internal readonly record struct ReservationChange(ReservationChangeKind Kind, Reservation? Reservation, long HolderId, int Pid, ProcessTree Tree)
{
    public static ReservationChange Added(Reservation reservation) => new(ReservationChangeKind.Added, reservation, 0, 0, default);

    public static ReservationChange Removed(Reservation reservation) => new(ReservationChangeKind.Removed, reservation, 0, 0, default);

    public static ReservationChange TreeAssigned(long holderId, int pid, ProcessTree tree) => new(ReservationChangeKind.TreeAssigned, null, holderId, pid, tree);

    public static ReservationChange UseGranted(Reservation persistent, long holderId, int pid) => new(ReservationChangeKind.UseGranted, persistent, holderId, pid, default);

    public static ReservationChange ProcessExited(long holderId) => new(ReservationChangeKind.ProcessExited, null, holderId, 0, default);

    public static ReservationChange HolderGone(long holderId) => new(ReservationChangeKind.HolderGone, null, holderId, 0, default);

    public static ReservationChange ConsumersChanged(Reservation persistent) => new(ReservationChangeKind.ConsumersChanged, persistent, 0, 0, default);
}
