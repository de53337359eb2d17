using System.Buffers;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

internal sealed partial class ClientConnection
{
    /// <summary>Sends a listing as one or more frames; every frame but the last carries <see cref="FrameFlags.More"/>.</summary>
    private async ValueTask SendListingAsync(FrameHeader request, List<ReservationEntry> entries)
    {
        int sent = 0;
        do
        {
            int count = EntriesThatFit(entries, sent);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxFrameSize);
            int length = WriteListingFrame(buffer, request, entries, sent, count, more: sent + count < entries.Count);
            sent += count;
            await SendAndReturnAsync(buffer, length).ConfigureAwait(false);
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

    private static int WriteListingFrame(byte[] buffer, FrameHeader request, List<ReservationEntry> entries, int first, int count, bool more)
    {
        var writer = new FrameWriter(buffer, Reply(request, 0));
        writer.SetFlags(more ? FrameFlags.More : FrameFlags.None);
        writer.WriteUInt16(checked((ushort)count));
        for (int i = first; i < first + count; i++)
        {
            entries[i].Write(ref writer);
        }

        return writer.Length;
    }

    private ValueTask SendStatusAsync(FrameHeader request)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxFrameSize);
        var writer = new FrameWriter(buffer, Reply(request, 0));
        service.Status().Write(ref writer);
        return SendAndReturnAsync(buffer, writer.Length);
    }
}
