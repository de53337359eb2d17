using System.Globalization;
using Microsoft.Data.Sqlite;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Store;

internal sealed partial class PersistentStore
{
    private const string DeleteRow = "DELETE FROM persistent_reservation WHERE protocol = $protocol AND start_port = $start AND port_count = $count";

    /// <summary>Every stored reservation with its consumers, each row validated.</summary>
    public IReadOnlyList<StoredReservation> LoadAll()
    {
        var consumers = new Dictionary<(int, int), (List<Consumer> Users, List<Consumer> Groups)>();
        using (SqliteCommand command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT protocol, start_port, kind, id, name FROM persistent_consumer ORDER BY protocol, start_port, kind, id";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                (int, int) key = (reader.GetInt32(0), reader.GetInt32(1));
                if (!consumers.TryGetValue(key, out var lists))
                {
                    consumers[key] = lists = ([], []);
                }

                Consumer consumer = ReadConsumer(reader);
                List<Consumer> list = reader.GetString(2) == "user" ? lists.Users : lists.Groups;
                list.Add(list.Count < CreatePersistentRequest.MaxConsumers ? consumer : throw Corrupt(FilePath, $"more than {CreatePersistentRequest.MaxConsumers} {reader.GetString(2)}s allowed on one reservation", null));
            }
        }

        var stored = new List<StoredReservation>();
        using (SqliteCommand command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT protocol, start_port, port_count, created_by_uid, created_at, source FROM persistent_reservation ORDER BY protocol, start_port";
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                stored.Add(ReadRow(reader, consumers));
            }
        }

        return stored;
    }

    /// <summary>Stores a new reservation with its consumers in one transaction; durable (fsync'd) when this returns.</summary>
    public void Add(StoredReservation reservation) => Add([reservation]);

    /// <summary>Stores new reservations with their consumers in one transaction; durable when this returns. A block already stored fails it whole.</summary>
    public void Add(IReadOnlyList<StoredReservation> reservations)
    {
        using SqliteTransaction transaction = _connection.BeginTransaction();
        foreach (StoredReservation reservation in reservations)
        {
            Insert(transaction, reservation);
        }

        transaction.Commit();
    }

    /// <summary>
    /// One reload of the reservations.d files in one transaction, durable when this returns: <paramref name="removed"/> go, and each of <paramref name="written"/> replaces the row of its block (or is added).
    /// </summary>
    public void Replace(IReadOnlyList<PortBlock> removed, IReadOnlyList<StoredReservation> written)
    {
        if (removed.Count + written.Count == 0)
        {
            return;
        }

        using SqliteTransaction transaction = _connection.BeginTransaction();
        foreach (PortBlock block in removed.Concat(written.Select(w => w.Block)))
        {
            Execute(transaction, DeleteRow, block);
        }

        foreach (StoredReservation reservation in written)
        {
            Insert(transaction, reservation);
        }

        transaction.Commit();
    }

    private void Insert(SqliteTransaction transaction, StoredReservation reservation)
    {
        Execute(transaction, "INSERT INTO persistent_reservation VALUES ($protocol, $start, $count, $uid, $at, $source)", reservation.Block,
            ("$uid", reservation.CreatedByUid), ("$at", reservation.CreatedAt.ToString("O", CultureInfo.InvariantCulture)), ("$source", (object?)reservation.Source ?? DBNull.Value));
        InsertConsumers(transaction, reservation, "user", reservation.Consumers.Users);
        InsertConsumers(transaction, reservation, "group", reservation.Consumers.Groups);
    }

    /// <summary>Removes a reservation and its consumers; durable when this returns. False when the store did not have it.</summary>
    public bool Remove(PortBlock block)
    {
        using SqliteTransaction transaction = _connection.BeginTransaction();
        int removed = Execute(transaction, DeleteRow, block);
        transaction.Commit();
        return removed == 1;
    }

    private void InsertConsumers(SqliteTransaction transaction, StoredReservation reservation, string kind, IReadOnlyList<Consumer> consumers)
    {
        foreach (Consumer consumer in consumers)
        {
            Execute(transaction, "INSERT INTO persistent_consumer VALUES ($protocol, $start, $kind, $id, $name)", reservation.Block,
                ("$kind", kind), ("$id", consumer.Id), ("$name", consumer.Name));
        }
    }

    /// <summary>Runs one statement with the block's $protocol, $start and $count bound (as far as the statement names them).</summary>
    private int Execute(SqliteTransaction transaction, string sql, PortBlock block, params (string Name, object Value)[] parameters)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$protocol", (int)block.Protocol);
        command.Parameters.AddWithValue("$start", block.Range.Start);
        if (sql.Contains("$count", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("$count", block.Range.Count);
        }

        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// A consumer row, held to the limits a create or a reservations.d line keeps to: an id a user or group can have, and
    /// a name of 1-64 characters (any longer would not fit the frames that list it).
    /// </summary>
    private Consumer ReadConsumer(SqliteDataReader reader)
    {
        long id = reader.GetInt64(3);
        string name = reader.GetString(4);
        return id is >= 0 and < uint.MaxValue && name.Length is > 0 and <= ConsumerNames.MaxLength
            ? new Consumer((uint)id, name)
            : throw Corrupt(FilePath, $"invalid consumer: id {id}, a name of {name.Length} characters", null);
    }

    private StoredReservation ReadRow(SqliteDataReader reader, Dictionary<(int, int), (List<Consumer> Users, List<Consumer> Groups)> consumers)
    {
        int protocol = reader.GetInt32(0);
        var range = new PortRange(reader.GetInt32(1), reader.GetInt32(2));
        if (protocol is not ((int)PortReservationProtocol.Tcp or (int)PortReservationProtocol.Udp) || !range.IsValid
            || !DateTimeOffset.TryParse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTimeOffset createdAt))
        {
            throw Corrupt(FilePath, $"invalid row: protocol {protocol}, block {range}", null);
        }

        PersistentConsumers allowed = consumers.TryGetValue((protocol, range.Start), out var lists) ? new PersistentConsumers(lists.Users, lists.Groups) : PersistentConsumers.None;
        string? source = reader.IsDBNull(5) ? null : reader.GetString(5);
        long createdBy = reader.GetInt64(3);
        if (createdBy is < 0 or >= uint.MaxValue || source is not null && (source.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(source) > FrameReader.MaxStringBytes))
        {
            throw Corrupt(FilePath, $"invalid row for block {range}: created by uid {createdBy}, a source of {source?.Length ?? 0} characters (at most {FrameReader.MaxStringBytes} bytes)", null);
        }

        return new StoredReservation(new PortBlock((PortReservationProtocol)protocol, range), allowed, (uint)createdBy, createdAt, source);
    }
}
