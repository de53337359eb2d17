namespace PortReserve.Daemon.Metrics;

/// <summary>How many live reservations of one kind and protocol there are.</summary>
internal readonly record struct ReservationCount(string Kind, string Protocol, int Count);
