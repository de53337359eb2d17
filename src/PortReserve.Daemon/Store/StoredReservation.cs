using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Store;

/// <summary>
/// A persistent reservation as the store keeps it. Tokens are not stored: they are new at every start. A declared one
/// keeps the <c>FILE:LINE</c> it came from, so that a restart knows it was declared before it reads the files again.
/// </summary>
internal sealed record StoredReservation(PortBlock Block, PersistentConsumers Consumers, uint CreatedByUid, DateTimeOffset CreatedAt, string? Source = null);
