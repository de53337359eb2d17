namespace PortReserve;

/// <summary>Where a reserved block comes from.</summary>
public enum PortReservationKind
{
    /// <summary>Held by a client connection; released when it is released or its owner goes away.</summary>
    Runtime = 1,

    /// <summary>Stored by the daemon; survives restarts (Windows <c>CreatePersistentTcpPortReservation</c>).</summary>
    Persistent = 2,

    /// <summary>An entry of the kernel's reserved port list that the daemon did not create; never handed out.</summary>
    System = 3,
}
