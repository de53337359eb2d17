using Microsoft.Data.Sqlite;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Store;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Store;

public sealed class PersistentStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("prt-store-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Add_ThenReopen_LoadsTheReservationWithItsConsumers()
    {
        var consumers = new PersistentConsumers([new Consumer(33, "www-data"), new Consumer(1000, "1000")], [new Consumer(2000, "web")]);
        using (PersistentStore store = PersistentStore.Open(_directory))
        {
            store.Add(new StoredReservation(new PortBlock(PortReservationProtocol.Udp, new PortRange(5000, 20)), consumers, 0, DateTimeOffset.UnixEpoch));
            store.Add(new StoredReservation(new PortBlock(PortReservationProtocol.Tcp, new PortRange(80, 1)), PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch));
        }

        using PersistentStore reopened = PersistentStore.Open(_directory);
        IReadOnlyList<StoredReservation> loaded = reopened.LoadAll();

        Assert.Equal(2, loaded.Count);
        StoredReservation udp = loaded.Single(r => r.Block.Protocol == PortReservationProtocol.Udp);
        Assert.Equal(new PortRange(5000, 20), udp.Block.Range);
        Assert.Equal([33u, 1000u], udp.Consumers.Users.Select(u => u.Id));
        Assert.Equal("web", Assert.Single(udp.Consumers.Groups).Name);
        Assert.Empty(loaded.Single(r => r.Block.Protocol == PortReservationProtocol.Tcp).Consumers.Users);
    }

    [Fact]
    public void Remove_TakesTheReservationAndItsConsumersAway()
    {
        using PersistentStore store = PersistentStore.Open(_directory);
        var consumers = new PersistentConsumers([new Consumer(33, "www-data")], []);
        store.Add(new StoredReservation(new PortBlock(PortReservationProtocol.Tcp, new PortRange(5000, 2)), consumers, 0, DateTimeOffset.UnixEpoch));

        Assert.True(store.Remove(new PortBlock(PortReservationProtocol.Tcp, 5000, 2)));
        Assert.False(store.Remove(new PortBlock(PortReservationProtocol.Tcp, 5000, 2)));
        store.Add(new StoredReservation(new PortBlock(PortReservationProtocol.Tcp, new PortRange(5000, 2)), PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch));

        Assert.Empty(Assert.Single(store.LoadAll()).Consumers.Users);
    }

    [Fact]
    public void Replace_RemovesRewritesAndAdds_InOneGo_AndKeepsSources()
    {
        var tcp8080 = new PortBlock(PortReservationProtocol.Tcp, new PortRange(8080, 1));
        var udp5000 = new PortBlock(PortReservationProtocol.Udp, new PortRange(5000, 20));
        var tcp9100 = new PortBlock(PortReservationProtocol.Tcp, new PortRange(9100, 2));
        using (PersistentStore store = PersistentStore.Open(_directory))
        {
            store.Add(new StoredReservation(tcp8080, PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch, "/etc/a.conf:1"));
            store.Add(new StoredReservation(udp5000, PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch, "/etc/a.conf:2"));
            store.Add(new StoredReservation(new PortBlock(PortReservationProtocol.Tcp, new PortRange(80, 1)), PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch));

            store.Replace(
                [tcp8080],
                [
                    new StoredReservation(udp5000, new PersistentConsumers([], [new Consumer(2000, "media")]), 0, DateTimeOffset.UnixEpoch, "/etc/a.conf:1"),
                    new StoredReservation(tcp9100, PersistentConsumers.None, 0, DateTimeOffset.UnixEpoch, "/etc/b.conf:3"),
                ]);
        }

        using PersistentStore reopened = PersistentStore.Open(_directory);
        IReadOnlyList<StoredReservation> loaded = reopened.LoadAll();

        Assert.Equal([(80, (string?)null), (9100, "/etc/b.conf:3"), (5000, "/etc/a.conf:1")], loaded.Select(r => (r.Block.Range.Start, r.Source)));
        Assert.Equal("media", Assert.Single(loaded.Single(r => r.Block == udp5000).Consumers.Groups).Name);
    }

    [Fact]
    public void Open_StoreOfTheFirstSchema_IsMigrated_AndItsReservationsAreAddOnes()
    {
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, PersistentStore.FileName)};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = StoreSchema.Migrations[0] + "; PRAGMA user_version = 1; INSERT INTO persistent_reservation VALUES (1, 8080, 1, 0, '2026-01-01T00:00:00Z');";
            command.ExecuteNonQuery();
        }

        using PersistentStore store = PersistentStore.Open(_directory);

        StoredReservation old = Assert.Single(store.LoadAll());
        Assert.Equal((8080, (string?)null), (old.Block.Range.Start, old.Source));
    }

    [Fact]
    public void Open_FileThatIsNotADatabase_RefusesWithAClearMessage()
    {
        File.WriteAllText(Path.Combine(_directory, PersistentStore.FileName), new string('x', 8192));

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => PersistentStore.Open(_directory));

        Assert.Contains("corrupt or unreadable", error.Message);
        Assert.Contains("move it aside", error.Message);
    }

    [Fact]
    public void Open_StoreFromANewerVersion_Refuses()
    {
        using (PersistentStore.Open(_directory))
        {
        }

        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, PersistentStore.FileName)};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = $"PRAGMA user_version = {StoreSchema.CurrentVersion + 1}";
            command.ExecuteNonQuery();
        }

        Assert.Contains("newer than this portreserved", Assert.Throws<InvalidDataException>(() => PersistentStore.Open(_directory)).Message);
    }

    [Fact]
    public void Open_NewStore_IsAtTheCurrentSchemaVersionInWalMode()
    {
        using (PersistentStore.Open(_directory))
        {
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, PersistentStore.FileName)};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        Assert.Equal((long)StoreSchema.CurrentVersion, command.ExecuteScalar());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }
}
