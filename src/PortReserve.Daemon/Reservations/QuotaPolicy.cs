namespace PortReserve.Daemon.Reservations;

/// <summary>Per-uid limits on runtime reservations, so that one user cannot exhaust the port space.</summary>
internal sealed record QuotaPolicy(int MaxRuntimePortsPerUid, int MaxRuntimeReservationsPerUid, bool ExemptRoot)
{
    public static QuotaPolicy Default { get; } = new(MaxRuntimePortsPerUid: 16384, MaxRuntimeReservationsPerUid: 4096, ExemptRoot: true);

    public static QuotaPolicy Unlimited { get; } = new(int.MaxValue, int.MaxValue, ExemptRoot: true);
}
