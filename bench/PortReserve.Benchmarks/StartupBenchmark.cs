using Microsoft.Data.Sqlite;

namespace PortReserve.Benchmarks;

/// <summary>Daemon start to ready (status answers) with many persistent reservations to restore and write to the kernel.</summary>
internal static class StartupBenchmark
{
    public static async Task<List<double>> RunAsync(int persistent, int starts)
    {
        string directory = Directory.CreateTempSubdirectory("prb-start-").FullName;

        // Let the daemon create its store with the current schema, then fill it directly: 10,000 creates through the
        // daemon would measure fsyncs, not start-up.
        (Daemon first, _) = await Daemon.StartAsync(directory);
        await first.DisposeAsync();
        Fill(Path.Combine(directory, "state", "reservations.db"), persistent);

        var milliseconds = new List<double>();
        for (int i = 0; i < starts; i++)
        {
            (Daemon daemon, TimeSpan startToReady) = await Daemon.StartAsync(directory);
            await using (daemon)
            {
                await using PortReservationClient client = await PortReservationClient.ConnectAsync(daemon.Options);
                int restored = (await client.GetStatusAsync()).PersistentReservations;
                if (restored != persistent)
                {
                    throw new InvalidOperationException($"the daemon restored {restored} persistent reservations, expected {persistent}");
                }
            }

            milliseconds.Add(startToReady.TotalMilliseconds);
        }

        return milliseconds;
    }

    private static void Fill(string database, int count)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        using SqliteCommand insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO persistent_reservation (protocol, start_port, port_count, created_by_uid, created_at) VALUES ($protocol, $start, 1, 0, $at)";
        SqliteParameter protocol = insert.Parameters.Add("$protocol", SqliteType.Integer);
        SqliteParameter start = insert.Parameters.Add("$start", SqliteType.Integer);
        insert.Parameters.AddWithValue("$at", "2026-01-01T00:00:00.0000000+00:00");
        for (int i = 0; i < count; i++)
        {
            // Every other port, both protocols: a fragmented list, the expensive case for the kernel write.
            protocol.Value = 1 + (i % 2);
            start.Value = 10000 + (2 * (i / 2));
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
