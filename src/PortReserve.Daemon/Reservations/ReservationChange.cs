using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// One change of the table that a kernel sink may have to mirror, in the order the table made them: a reservation
/// placed or taken out, a runtime holder's process tree named (its cgroup), a process let use a persistent reservation
/// for as long as its holder lasts, a holder's process gone (its pid may come back as another's), a holder gone, or a
/// persistent reservation's allow-lists changed. A change carries the values it is about, taken under the table's
/// lock, so that a sink reading it later on the kernel writer never reads a reservation the table may be changing.
/// </summary>
/// <param name="Token">The reservation's token (0 when the change is about a holder).</param>
/// <param name="Block">The reservation's ports.</param>
/// <param name="Owner">A runtime reservation's holder; null for a persistent one.</param>
/// <param name="Consumers">A persistent reservation's consumers as of the change.</param>
internal readonly record struct ReservationChange(
    ReservationChangeKind Kind, ulong Token, PortBlock Block, ReservationOwner? Owner, PersistentConsumers? Consumers, HolderId HolderId, int Pid, ProcessTree Tree)
{
    public static ReservationChange Added(Reservation reservation) => Of(ReservationChangeKind.Added, reservation);

    public static ReservationChange Removed(Reservation reservation) => Of(ReservationChangeKind.Removed, reservation);

    public static ReservationChange TreeAssigned(HolderId holderId, int pid, ProcessTree tree) => new(ReservationChangeKind.TreeAssigned, 0, default, null, null, holderId, pid, tree);

    public static ReservationChange UseGranted(Reservation persistent, HolderId holderId, int pid) => Of(ReservationChangeKind.UseGranted, persistent) with { HolderId = holderId, Pid = pid };

    public static ReservationChange ProcessExited(HolderId holderId) => new(ReservationChangeKind.ProcessExited, 0, default, null, null, holderId, 0, default);

    public static ReservationChange HolderGone(HolderId holderId) => new(ReservationChangeKind.HolderGone, 0, default, null, null, holderId, 0, default);

    public static ReservationChange ConsumersChanged(Reservation persistent) => Of(ReservationChangeKind.ConsumersChanged, persistent);

    private static ReservationChange Of(ReservationChangeKind kind, Reservation reservation)
        => new(kind, reservation.Token, reservation.Block, reservation.Owner, reservation.Consumers, default, 0, default);
}
