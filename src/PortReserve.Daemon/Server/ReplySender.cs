using System.Buffers;
using System.Net.Sockets;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>Encodes and sends the replies of one connection: grants, errors, listings and status, each from a pooled buffer.</summary>
internal sealed class ReplySender(Socket socket)
{
    /// <summary>Replies to <paramref name="request"/> with the outcome: the reservation's grant (empty for release and delete) or the refusal.</summary>
    public ValueTask SendAsync(FrameHeader request, TableResult<Reservation> result)
    {
        if (!result.TryGet(out Reservation? reservation, out Refusal? refusal))
        {
            return SendErrorAsync(request, refusal.Kind, refusal.Message);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(64);
        var writer = new FrameWriter(buffer, Reply(request, 0));
        if (request.Operation is not (MessageType.Release or MessageType.DeletePersistent))
        {
            new ReservationGrant(reservation.Block, reservation.Token).Write(ref writer);
        }

        return SendAndReturnAsync(buffer, writer.Length);
    }

    /// <summary>A success with nothing to say.</summary>
    public ValueTask SendEmptyAsync(FrameHeader request)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.Size);
        Reply(request, 0).Write(buffer);
        return SendAndReturnAsync(buffer, FrameHeader.Size);
    }

    public ValueTask SendErrorAsync(FrameHeader request, PortReservationErrorKind kind, string message)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameReader.MaxStringBytes + 64);
        var writer = new FrameWriter(buffer, Reply(request, (byte)kind));
        writer.WriteString(message);
        return SendAndReturnAsync(buffer, writer.Length);
    }

    public ValueTask SendStatusAsync(FrameHeader request, StatusReply status)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxFrameSize);
        var writer = new FrameWriter(buffer, Reply(request, 0));
        status.Write(ref writer);
        return SendAndReturnAsync(buffer, writer.Length);
    }

    /// <summary>Sends a listing as one or more frames; every frame but the last carries <see cref="FrameFlags.More"/>.</summary>
    public async ValueTask SendListingAsync(FrameHeader request, List<ReservationEntry> entries)
    {
        int sent = 0;
        do
        {
            int count = EntriesThatFit(entries, sent);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxFrameSize);
            var writer = new FrameWriter(buffer, Reply(request, 0));
            writer.SetFlags(sent + count < entries.Count ? FrameFlags.More : FrameFlags.None);
            writer.WriteUInt16(checked((ushort)count));
            for (int i = sent; i < sent + count; i++)
            {
                entries[i].Write(ref writer);
            }

            sent += count;
            await SendAndReturnAsync(buffer, writer.Length).ConfigureAwait(false);
        }
        while (sent < entries.Count);
    }

    private static int EntriesThatFit(List<ReservationEntry> entries, int first)
    {
        int room = FrameHeader.MaxFrameSize - FrameHeader.Size - sizeof(ushort);
        int count = 0;
        while (first + count < entries.Count && count < ushort.MaxValue && entries[first + count].EncodedSize <= room)
        {
            room -= entries[first + count].EncodedSize;
            count++;
        }

        // Consumer names are capped at creation, so an entry always fits an empty frame.
        return count > 0 || first == entries.Count ? count : throw new InvalidOperationException("a listing entry is larger than a frame");
    }

    private static FrameHeader Reply(FrameHeader request, byte status)
        => new((MessageType)((byte)request.Operation | (byte)MessageType.ReplyBit), FrameFlags.None, status, request.RequestId);

    private async ValueTask SendAndReturnAsync(byte[] buffer, int length)
    {
        try
        {
            await socket.SendAsync(buffer.AsMemory(0, length), SocketFlags.None).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
