using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Compat;

/// <summary>
/// What the portserver endpoint may cost the daemon: each connection counts against the connection limits shared with
/// the main socket (its uid's and everyone's, administrators exempt from the latter), and each grant's process watch (a
/// pidfd held until that process exits) against the descriptor budget. A connection over a limit is closed unanswered,
/// as the protocol refuses; the refusal is logged, rate-limited.
/// </summary>
internal sealed class PortServerAdmission(AccessPolicy access, ConnectionLimits connections, DescriptorBudget descriptors, RequestAudit audit)
{
    // A connection holds its socket and, while it is served, a pidfd of the process that connected.
    private const int DescriptorsPerConnection = 2;

    public AccessPolicy Access { get; } = access;

    /// <summary>Counts a connection, or (false) logs why it is turned away.</summary>
    public bool TryEnter(Principal peer)
    {
        if (connections.TryOpen(peer.Uid, peer.IsAdministrator, DescriptorsPerConnection) is not { } refusal)
        {
            return true;
        }

        audit.ConnectionRefused(peer.Pid, peer.Uid, $"{refusal} (portserver endpoint)");
        return false;
    }

    public void Left(Principal peer) => connections.Closed(peer.Uid, DescriptorsPerConnection);

    /// <summary>Takes the descriptor of a grant's process watch; null when it may be made, else why not.</summary>
    public string? TryWatch(bool administrator) => descriptors.TryTake(1, administrator) ? null : descriptors.Spent;

    /// <summary>A grant's watch ended (its process exited, or the grant was refused): its descriptor goes back.</summary>
    public void WatchEnded() => descriptors.Return(1);
}
