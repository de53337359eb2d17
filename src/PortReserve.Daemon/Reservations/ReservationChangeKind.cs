namespace PortReserve.Daemon.Reservations;

/// <summary>What a <see cref="ReservationChange"/> is.</summary>
internal enum ReservationChangeKind
{
    Added,
    Removed,
    TreeAssigned,
    UseGranted,
    ProcessExited,
    HolderGone,
    ConsumersChanged,
}
