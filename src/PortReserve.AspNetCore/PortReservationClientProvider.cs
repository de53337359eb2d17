using Microsoft.Extensions.Options;

namespace PortReserve.AspNetCore;

/// <summary>
/// The app's one connection to portreserved, shared by everything the host runs (its runtime reservations live as long
/// as this connection): made at first use with the configured <see cref="PortReservationClientOptions"/>, closed when
/// the host's services are disposed.
/// </summary>
public sealed class PortReservationClientProvider(IOptions<PortReservationClientOptions> options) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private PortReservationClient? _client;

    /// <summary>The shared client, connected on the first call.</summary>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The client.</returns>
    /// <exception cref="PortReservationException">ServiceUnavailable when the daemon cannot be reached; the message says where the client looked.</exception>
    public async ValueTask<PortReservationClient> GetClientAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _client) is { } connected)
        {
            return connected;
        }

        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _client ??= await PortReservationClient.ConnectAsync(options.Value, cancellationToken).ConfigureAwait(false);
            return _client;
        }
        finally
        {
            _connecting.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _client, null) is { } client)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _connecting.Dispose();
    }
}
