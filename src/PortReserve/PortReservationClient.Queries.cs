using PortReserve.Protocol;

namespace PortReserve;

public sealed partial class PortReservationClient
{
    /// <summary>Lists every reservation the daemon holds, like <c>netsh int ipv4 show excludedportrange</c>.</summary>
    /// <param name="protocol">Only this protocol's blocks; null for both.</param>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>The blocks in protocol and port order. Tokens are shown only where the caller may use them.</returns>
    public async ValueTask<IReadOnlyList<PortReservationInfo>> ShowAsync(PortReservationProtocol? protocol = null, CancellationToken cancellationToken = default)
    {
        Reply reply = (await _reconnector.RequestAsync(MessageType.Show, new ShowRequest(protocol), cancellationToken).ConfigureAwait(false)).ThrowIfError();
        var listing = new List<PortReservationInfo>();
        foreach (byte[] payload in reply.Payloads)
        {
            ReadListingFrame(payload, listing);
        }

        return listing;
    }

    /// <summary>Reads the daemon's version, uptime, kernel sync state and counts.</summary>
    /// <param name="cancellationToken">Cancels waiting for the reply.</param>
    /// <returns>The daemon's status.</returns>
    public async ValueTask<PortReserveStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        Reply reply = (await _reconnector.RequestAsync(MessageType.Status, default(EmptyRequest), cancellationToken).ConfigureAwait(false)).ThrowIfError();
        var reader = new FrameReader(reply.Single);
        return StatusFrame.Read(ref reader);
    }

    private static void ReadListingFrame(byte[] payload, List<PortReservationInfo> listing)
    {
        var reader = new FrameReader(payload);
        int count = reader.ReadUInt16();
        for (int i = 0; i < count; i++)
        {
            ReservationEntry entry = ReservationEntry.Read(ref reader);
            listing.Add(new PortReservationInfo
            {
                Protocol = entry.Block.Protocol,
                StartPort = entry.Block.Range.Start,
                Count = entry.Block.Range.Count,
                Kind = entry.Kind,
                OwnerPid = entry.OwnerPid == 0 ? null : entry.OwnerPid,
                OwnerUid = entry.OwnerUid == ReservationEntry.NoUid ? null : entry.OwnerUid,
                Token = entry.Token == 0 ? null : entry.Token,
                AllowedUsers = entry.AllowedUsers,
                AllowedGroups = entry.AllowedGroups,
                Source = entry.Source.Length == 0 ? null : entry.Source,
            });
        }

        reader.EnsureEnd();
    }
}
