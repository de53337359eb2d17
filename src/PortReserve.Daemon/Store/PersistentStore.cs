using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Store;

/// <summary>
/// Persistent reservations in SQLite (WAL, synchronous=FULL): a change is fsync'd when its call returns, so the daemon
/// acknowledges only what survives a crash. One connection; not thread-safe: its one user (the persistent reservations'
/// unit of work) orders every call.
/// </summary>
internal sealed partial class PersistentStore : IDisposable
{
    public const string FileName = "reservations.db";

    private readonly SqliteConnection _connection;

    private PersistentStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        FilePath = path;
    }

    public string FilePath { get; }

    /// <summary>Opens (creating or migrating) the store; a corrupt, unreadable or newer store is an error, never an empty start.</summary>
    public static PersistentStore Open(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, FileName);
        RefuseLinks(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
            CheckIntegrity(connection, path);
            Migrate(connection, path);
            return new PersistentStore(connection, path);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw Corrupt(path, e.Message, e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>SQLite follows links; the store and its journals must be files of their own, so a link is refused first.</summary>
    private static void RefuseLinks(string path)
    {
        foreach (string file in (string[])[path, path + "-wal", path + "-shm", path + "-journal"])
        {
            if (Interop.Libc.StatNoFollow(file) is { IsRegularFile: false } status)
            {
                throw new InvalidDataException($"{file} is {(status.IsSymbolicLink ? "a symbolic link" : "not a regular file")}; portreserved does not open its store through one. Remove it (or put the real file there)");
            }
        }
    }

    /// <summary>
    /// Runs one of this store's writes; a write SQLite refused is logged and becomes the refusal a client gets
    /// (ServiceUnavailable, saying that <paramref name="unchanged"/>), or null when it is durable.
    /// </summary>
    public Refusal? TryWrite(Action<PersistentStore> write, ILogger logger, string unchanged)
    {
        try
        {
            write(this);
            return null;
        }
        catch (SqliteException e)
        {
            DaemonLog.StoreWriteFailed(logger, FilePath, e);
            return new Refusal(PortReservationErrorKind.ServiceUnavailable, $"the persistent store {FilePath} could not be written ({e.Message}); {unchanged}");
        }
    }

    private static void CheckIntegrity(SqliteConnection connection, string path)
    {
        using SqliteCommand check = connection.CreateCommand();
        check.CommandText = "PRAGMA quick_check";
        string result = Convert.ToString(check.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "no answer";
        if (result != "ok")
        {
            throw Corrupt(path, result, null);
        }
    }

    private static void Migrate(SqliteConnection connection, string path)
    {
        int version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > StoreSchema.CurrentVersion)
        {
            throw new InvalidDataException($"the persistent store {path} has schema version {version}, newer than this portreserved understands ({StoreSchema.CurrentVersion}); run the newer portreserved that wrote it");
        }

        for (; version < StoreSchema.CurrentVersion; version++)
        {
            using SqliteTransaction transaction = connection.BeginTransaction();
            Execute(connection, StoreSchema.Migrations[version], transaction);
            Execute(connection, $"PRAGMA user_version = {version + 1}", transaction);
            transaction.Commit();
        }
    }

    private static InvalidDataException Corrupt(string path, string detail, Exception? inner)
        => new($"the persistent store {path} is corrupt or unreadable ({detail}); portreserved will not start without its persistent reservations. Restore it from a backup, or move it aside to start with none.", inner);

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
