using System.Net;
using System.Net.Sockets;

namespace PortReserve.AspNetCore;

/// <summary>
/// What <see cref="PortReserveWebHostBuilderExtensions.ListenReserved"/> gives Kestrel to listen on: not an address yet,
/// but the reservation to take one from, which <see cref="ReservedConnectionListenerFactory"/> acquires and binds when
/// Kestrel starts its endpoints.
/// </summary>
internal sealed class ReservedEndPoint(ReservedListenOptions options) : EndPoint
{
    public ReservedListenOptions Options { get; } = options;

    public override AddressFamily AddressFamily => Options.Address.AddressFamily;

    public override string ToString() => Options.ToString();
}
