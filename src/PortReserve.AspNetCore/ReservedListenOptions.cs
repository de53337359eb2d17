using System.Net;

namespace PortReserve.AspNetCore;

/// <summary>
/// Which reserved port Kestrel listens on: a runtime reservation acquired when the host starts and released when it
/// stops (a block at <see cref="StartPort"/>, or any free block when it is 0), or an existing persistent reservation
/// looked up by its exact block (<see cref="Persistent"/>).
/// </summary>
public sealed class ReservedListenOptions
{
    /// <summary>The first port of the block; 0 (the default) lets the daemon choose a free block.</summary>
    public int StartPort { get; set; }

    /// <summary>How many ports the block has (default 1). Kestrel listens on one of them; the rest stay reserved for the app.</summary>
    public int Count { get; set; } = 1;

    /// <summary>Listen on this port of the block; 0 (the default) takes the first free one.</summary>
    public int Port { get; set; }

    /// <summary>The address to listen on (default <see cref="IPAddress.Loopback"/>; <see cref="IPAddress.IPv6Any"/> is dual-stack).</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// Listen on a persistent reservation created beforehand (<c>portreserve add</c> or a reservations.d file) with
    /// exactly <see cref="StartPort"/> and <see cref="Count"/>, instead of acquiring a runtime one. The app's user must
    /// be allowed to consume it.
    /// </summary>
    public bool Persistent { get; set; }

    /// <summary>
    /// When the reservation is lost (no daemon came back within the client's reconnect timeout, or the one that came
    /// back no longer has it; a daemon restart is not a loss), log an error and stop the host with exit code
    /// <see cref="LostExitCode"/> (true, the default), so that a supervisor (<c>Restart=on-failure</c>) restarts the app on
    /// a port it holds again; false logs the error and keeps serving on a port nobody holds for it any more (the health
    /// check reports it).
    /// </summary>
    public bool StopHostWhenLost { get; set; } = true;

    /// <summary>The exit code of a host stopped because its reservation was lost: 75, EX_TEMPFAIL (try again), unless the app set one.</summary>
    public const int LostExitCode = 75;

    /// <summary>"any free TCP port", "TCP 8080-8089", "persistent TCP 8080", for messages and logs.</summary>
    public override string ToString()
    {
        string block = StartPort == 0 ? $"any free block of {Count} TCP port(s)" : Count == 1 ? $"TCP {StartPort}" : $"TCP {StartPort}-{StartPort + Count - 1}";
        return Persistent ? $"persistent {block}" : block;
    }
}
