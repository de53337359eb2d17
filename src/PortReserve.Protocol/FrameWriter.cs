using System.Buffers.Binary;
using System.Text;

namespace PortReserve.Protocol;

/// <summary>Little-endian writer that fills one frame (header first, then payload) in a caller-owned buffer.</summary>
internal ref struct FrameWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public FrameWriter(Span<byte> buffer, FrameHeader header)
    {
        if (buffer.Length < FrameHeader.Size)
        {
            throw new ArgumentException("buffer is smaller than a frame header", nameof(buffer));
        }

        _buffer = buffer.Length > FrameHeader.MaxFrameSize ? buffer[..FrameHeader.MaxFrameSize] : buffer;
        header.Write(_buffer);
        _position = FrameHeader.Size;
    }

    public readonly int Length => _position;

    public readonly int Remaining => _buffer.Length - _position;

    /// <summary>Rewrites the flags byte of the header (set More once a listing overflows the frame).</summary>
    public readonly void SetFlags(FrameFlags flags) => _buffer[2] = (byte)flags;

    public void WriteByte(byte value) => Take(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);

    public void WriteUInt64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);

    public void WriteString(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        if (length > FrameReader.MaxStringBytes)
        {
            // Messages are for people; cut rather than produce a frame the other side must reject.
            value = value[..Math.Min(value.Length, FrameReader.MaxStringBytes / 4)];
            length = Encoding.UTF8.GetByteCount(value);
        }

        WriteUInt16(checked((ushort)length));
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    /// <summary>Writes a list of at most 255 strings, count first.</summary>
    public void WriteStringList(IReadOnlyList<string> values)
    {
        WriteByte(checked((byte)values.Count));
        foreach (string value in values)
        {
            WriteString(value);
        }
    }

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    private Span<byte> Take(int count)
    {
        if (_buffer.Length - _position < count)
        {
            throw new InvalidOperationException("frame buffer is full");
        }

        Span<byte> slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }
}
