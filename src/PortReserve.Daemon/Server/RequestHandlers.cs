namespace PortReserve.Daemon.Server;

/// <summary>What serves the requests of a client connection, and who counts as an administrator.</summary>
internal sealed record RequestHandlers(RuntimeReservations Runtime, PersistentReservations Persistent, DeclaredReservations Declared, StatusReporter Status, AccessPolicy Access);
