using PortReserve.Protocol;

namespace PortReserve;

public sealed partial class PortReservationClient
{
    /// <summary>
    /// Creates a persistent reservation of exactly that block (<c>CreatePersistentTcpPortReservation</c> /
    /// <c>CreatePersistentUdpPortReservation</c>). It survives daemon restarts and stays in the kernel's reserved port
    /// list; it is on disk before this returns. Needs an administrator: root or a member of the daemon's admin group.
    /// </summary>
    /// <param name="protocol">The port space: TCP or UDP.</param>
    /// <param name="startPort">The first port, 1 to 65535 (no wildcard for persistent reservations).</param>
    /// <param name="count">How many ports.</param>
    /// <param name="options">Users and groups allowed to consume it besides administrators; null for administrators only.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply (the daemon may still complete the creation).</param>
    /// <returns>The token, valid until the daemon restarts (find it again with <see cref="LookupPersistentAsync"/>).</returns>
    /// <exception cref="PortReservationException">AccessDenied for a non-administrator; AddressAlreadyInUse when the block overlaps a reservation, a system exclusion or a port in use; InvalidArgument for a bad range or an unknown user or group.</exception>
    public async ValueTask<ulong> CreatePersistentAsync(PortReservationProtocol protocol, int startPort, int count, PersistentReservationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = new CreatePersistentRequest(CheckedBlock(protocol, startPort, count, wildcardAllowed: false), [.. options?.AllowedUsers ?? []], [.. options?.AllowedGroups ?? []]);
        if (request.AllowUsers.Count > CreatePersistentRequest.MaxConsumers || request.AllowGroups.Count > CreatePersistentRequest.MaxConsumers)
        {
            throw new PortReservationException(PortReservationErrorKind.InvalidArgument, $"at most {CreatePersistentRequest.MaxConsumers} allowed users and {CreatePersistentRequest.MaxConsumers} allowed groups");
        }

        Reply reply = await _reconnector.RequestAsync(MessageType.CreatePersistent, request, cancellationToken).ConfigureAwait(false);
        return ReadGrant(reply.ThrowIfError()).Token;
    }

    /// <summary>
    /// Finds the current token of the persistent reservation created with exactly this start and count
    /// (<c>LookupPersistentTcpPortReservation</c>). Anyone may look up.
    /// </summary>
    /// <param name="protocol">The port space: TCP or UDP.</param>
    /// <param name="startPort">The start given at creation.</param>
    /// <param name="count">The count given at creation.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>The token.</returns>
    /// <exception cref="PortReservationException">NotFound when no persistent reservation matches exactly.</exception>
    public async ValueTask<ulong> LookupPersistentAsync(PortReservationProtocol protocol, int startPort, int count, CancellationToken cancellationToken = default)
    {
        PortBlock block = CheckedBlock(protocol, startPort, count, wildcardAllowed: false);
        Reply reply = await _reconnector.RequestAsync(MessageType.LookupPersistent, block, cancellationToken).ConfigureAwait(false);
        return ReadGrant(reply.ThrowIfError()).Token;
    }

    /// <summary>
    /// Deletes the persistent reservation created with exactly this start and count (<c>DeletePersistentTcpPortReservation</c>);
    /// its ports leave the kernel list. Needs an administrator.
    /// </summary>
    /// <param name="protocol">The port space: TCP or UDP.</param>
    /// <param name="startPort">The start given at creation.</param>
    /// <param name="count">The count given at creation.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>A task that completes when the deletion is on disk.</returns>
    /// <exception cref="PortReservationException">NotFound when no persistent reservation matches exactly; AccessDenied for a non-administrator.</exception>
    public async ValueTask DeletePersistentAsync(PortReservationProtocol protocol, int startPort, int count, CancellationToken cancellationToken = default)
    {
        PortBlock block = CheckedBlock(protocol, startPort, count, wildcardAllowed: false);
        Reply reply = await _reconnector.RequestAsync(MessageType.DeletePersistent, block, cancellationToken).ConfigureAwait(false);
        reply.ThrowIfError();
    }

    /// <summary>
    /// Has the daemon read its reservations.d files again and apply the difference: new lines add persistent
    /// reservations, reservations whose lines are gone are deleted, changed allow-lists are updated; reservations made
    /// with <see cref="CreatePersistentAsync"/> are never touched. Lines that cannot apply are skipped and reported, and
    /// every other line still applies. Needs an administrator (as does sending the daemon SIGHUP).
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the reply (the daemon still completes the reload).</param>
    /// <returns>What changed, and every skipped line with its file, line number and reason.</returns>
    /// <exception cref="PortReservationException">AccessDenied for a non-administrator; ServiceUnavailable when the daemon's store could not be written (nothing changed).</exception>
    public async ValueTask<PortReservationReloadResult> ReloadDeclarationsAsync(CancellationToken cancellationToken = default)
    {
        Reply reply = (await _reconnector.RequestAsync(MessageType.ReloadDeclarations, default(EmptyRequest), cancellationToken).ConfigureAwait(false)).ThrowIfError();
        var reader = new FrameReader(reply.Single);
        ReloadReply reload = ReloadReply.Read(ref reader);
        return new PortReservationReloadResult
        {
            Files = reload.Files,
            Added = reload.Added,
            Removed = reload.Removed,
            Updated = reload.Updated,
            Unchanged = reload.Unchanged,
            Problems = [.. reload.Problems.Select(p => new PortReservationFileProblem(p.File, p.Line, p.Reason))],
            TotalProblems = reload.TotalProblems,
        };
    }
}
