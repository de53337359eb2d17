namespace PortReserve.Daemon.Reservations;

/// <summary>Per-uid limits on runtime reservations, so that one user cannot exhaust the port space. Administrators are exempt.</summary>
internal sealed record QuotaPolicy(int MaxRuntimePortsPerUid, int MaxRuntimeReservationsPerUid)
{
    public static QuotaPolicy Default { get; } = new(MaxRuntimePortsPerUid: 16384, MaxRuntimeReservationsPerUid: 4096);

    public static QuotaPolicy Unlimited { get; } = new(int.MaxValue, int.MaxValue);
}
