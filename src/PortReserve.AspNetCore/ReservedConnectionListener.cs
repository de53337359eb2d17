using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PortReserve.AspNetCore;

/// <summary>
/// Kestrel's listener on a reserved port: the socket transport's, reporting the address bound from the reservation,
/// and holding the runtime reservation until Kestrel disposes it (the host stops), when the ports go back.
/// </summary>
internal sealed class ReservedConnectionListener(IConnectionListener inner, IPEndPoint bound, Socket socket, PortReservation? runtime, Action disposed) : IConnectionListener
{
    public EndPoint EndPoint => bound;

    public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) => inner.AcceptAsync(cancellationToken);

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        disposed();
        await inner.DisposeAsync().ConfigureAwait(false);
        socket.Dispose();
        if (runtime is not null)
        {
            await runtime.DisposeAsync().ConfigureAwait(false);
        }
    }
}
