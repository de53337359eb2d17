using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

/// <summary>Encodes replies into a caller's buffer (at least <see cref="FrameHeader.MaxFrameSize"/> bytes): grants, errors, listings and status.</summary>
internal static class ReplyFrames
{
    /// <summary>The outcome of <paramref name="request"/>: the reservation's grant (empty for release and delete) or the refusal.</summary>
    public static int Outcome(Span<byte> buffer, FrameHeader request, Refusable<Reservation> result)
    {
        if (!result.TryGet(out Reservation? reservation, out Refusal? refusal))
        {
            return Error(buffer, request, refusal.Kind, refusal.Message);
        }

        var writer = new FrameWriter(buffer, Reply(request, 0));
        if (request.Operation is not (MessageType.Release or MessageType.DeletePersistent))
        {
            new ReservationGrant(reservation.Block, reservation.Token).Write(ref writer);
        }

        return writer.Length;
    }

    /// <summary>A success with nothing to say, or the refusal.</summary>
    public static int Outcome(Span<byte> buffer, FrameHeader request, Refusal? refusal)
        => refusal is null ? Empty(buffer, request) : Error(buffer, request, refusal.Kind, refusal.Message);

    public static int Empty(Span<byte> buffer, FrameHeader request)
    {
        Reply(request, 0).Write(buffer);
        return FrameHeader.Size;
    }

    public static int Error(Span<byte> buffer, FrameHeader request, PortReservationErrorKind kind, string message)
    {
        var writer = new FrameWriter(buffer, Reply(request, (byte)kind));
        writer.WriteString(message);
        return writer.Length;
    }

    public static int Status(Span<byte> buffer, FrameHeader request, PortReserveStatus status)
    {
        var writer = new FrameWriter(buffer, Reply(request, 0));
        StatusFrame.Write(ref writer, status);
        return writer.Length;
    }

    public static int Reload(Span<byte> buffer, FrameHeader request, ReloadReply reload)
    {
        var writer = new FrameWriter(buffer, Reply(request, 0));
        reload.Write(ref writer);
        return writer.Length;
    }

    /// <summary>
    /// The next frame of a listing, from entry <paramref name="sent"/> on (which moves past the entries it holds); every
    /// frame but the last carries <see cref="FrameFlags.More"/>. Call until <paramref name="sent"/> reaches the count.
    /// </summary>
    public static int ListingFrame(Span<byte> buffer, FrameHeader request, List<ReservationEntry> entries, ref int sent)
    {
        int count = EntriesThatFit(entries, sent);
        var writer = new FrameWriter(buffer, Reply(request, 0));
        writer.SetFlags(sent + count < entries.Count ? FrameFlags.More : FrameFlags.None);
        writer.WriteUInt16(checked((ushort)count));
        for (int i = sent; i < sent + count; i++)
        {
            entries[i].Write(ref writer);
        }

        sent += count;
        return writer.Length;
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
}
