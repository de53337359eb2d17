namespace PortReserve.Daemon.Store;

/// <summary>
/// The store's schema as forward migrations: <see cref="Migrations"/>[i] takes a store from version i to i + 1.
/// PRAGMA user_version holds the version. Never edit a released step; add the next one.
/// </summary>
internal static class StoreSchema
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE persistent_reservation (
            protocol       INTEGER NOT NULL CHECK (protocol IN (1, 2)),
            start_port     INTEGER NOT NULL CHECK (start_port BETWEEN 1 AND 65535),
            port_count     INTEGER NOT NULL CHECK (port_count BETWEEN 1 AND 65535 AND start_port + port_count - 1 <= 65535),
            created_by_uid INTEGER NOT NULL,
            created_at     TEXT    NOT NULL,
            PRIMARY KEY (protocol, start_port)
        ) WITHOUT ROWID;
        CREATE TABLE persistent_consumer (
            protocol   INTEGER NOT NULL,
            start_port INTEGER NOT NULL,
            kind       TEXT    NOT NULL CHECK (kind IN ('user', 'group')),
            id         INTEGER NOT NULL,
            name       TEXT    NOT NULL,
            PRIMARY KEY (protocol, start_port, kind, id),
            FOREIGN KEY (protocol, start_port) REFERENCES persistent_reservation (protocol, start_port) ON DELETE CASCADE
        ) WITHOUT ROWID;
        """,
        """
        -- FILE:LINE of the reservations.d line that declares the reservation; NULL for one made with portreserve add.
        ALTER TABLE persistent_reservation ADD COLUMN source TEXT;
        """,
    ];

    public static int CurrentVersion => Migrations.Length;
}
