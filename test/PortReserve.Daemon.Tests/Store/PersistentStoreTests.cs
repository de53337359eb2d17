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
