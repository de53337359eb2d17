using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Store;

/// <summary>A persistent reservation as the store keeps it. Tokens are not stored: they are new at every start.</summary>
internal sealed record StoredReservation(PortBlock Block, PersistentConsumers Consumers, uint CreatedByUid, DateTimeOffset CreatedAt);
