namespace PortReserve;

/// <summary>The transport protocol whose port space a reservation belongs to. TCP and UDP ports are reserved separately.</summary>
public enum PortReservationProtocol
{
    /// <summary>TCP ports (<c>IPPROTO_TCP</c>).</summary>
    Tcp = 1,

    /// <summary>UDP ports (<c>IPPROTO_UDP</c>).</summary>
    Udp = 2,
}
