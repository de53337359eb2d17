using System.Buffers;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Server;

internal sealed partial class ClientConnection
{
    /// <summary>Sends a listing as one or more frames; every frame but the last carries <see cref="FrameFlags.More"/>.</summary>
    private async ValueTask SendListingAsync(FrameHeader request, List<ReservationEntry> entries)
    {
        int perFrame = (FrameHeader.MaxFrameSize - FrameHeader.Size - sizeof(ushort)) / ReservationEntry.Size;
        int sent = 0;
        do
        {
            int count = Math.Min(perFrame, entries.Count - sent);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(FrameHeader.MaxFrameSize);
            int length = WriteListingFrame(buffer, request, entries, sent, count, more: sent + count < entries.Count);
            sent += count;
            await SendAndReturnAsync(buffer, length).ConfigureAwait(false);
        }
        while (sent < entries.Count);
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
