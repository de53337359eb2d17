using System.Buffers.Binary;
using System.Text;

namespace PortReserve.Protocol;

/// <summary>Strict little-endian reader over one frame's payload: every length and enum is checked.</summary>
internal ref struct FrameReader(ReadOnlySpan<byte> payload)
{
    public const int MaxStringBytes = 1024;

    private readonly ReadOnlySpan<byte> _payload = payload;
    private int _position;

    public byte ReadByte() => Take(1)[0];

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public PortReservationProtocol ReadProtocol()
    {
        byte value = ReadByte();
        return value is (byte)PortReservationProtocol.Tcp or (byte)PortReservationProtocol.Udp
            ? (PortReservationProtocol)value
            : throw new ProtocolException($"unknown protocol {value}");
    }

    /// <summary>Reads a protocol filter: 0 means any protocol.</summary>
    public PortReservationProtocol? ReadOptionalProtocol()
    {
        byte value = ReadByte();
        return value switch
        {
            0 => null,
            (byte)PortReservationProtocol.Tcp or (byte)PortReservationProtocol.Udp => (PortReservationProtocol)value,
            _ => throw new ProtocolException($"unknown protocol filter {value}"),
        };
    }

    public PortReservationKind ReadKind()
    {
        byte value = ReadByte();
        return value is >= (byte)PortReservationKind.Runtime and <= (byte)PortReservationKind.System
            ? (PortReservationKind)value
            : throw new ProtocolException($"unknown reservation kind {value}");
    }

    public string ReadString()
    {
        int length = ReadUInt16();
        if (length > MaxStringBytes)
        {
            throw new ProtocolException($"string of {length} bytes exceeds the {MaxStringBytes}-byte limit");
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length));
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException("string is not valid UTF-8");
        }
    }

    /// <summary>Reads a count-prefixed list of strings, refusing more than <paramref name="maxCount"/>.</summary>
    public string[] ReadStringList(int maxCount)
    {
        int count = ReadByte();
        if (count > maxCount)
        {
            throw new ProtocolException($"a list of {count} names exceeds the limit of {maxCount}");
        }

        var values = new string[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = ReadString();
        }

        return values;
    }

    /// <summary>Fails when bytes are left over: a frame must be exactly as long as its fields.</summary>
    public readonly void EnsureEnd()
    {
        if (_position != _payload.Length)
        {
            throw new ProtocolException($"{_payload.Length - _position} unexpected trailing bytes");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (_payload.Length - _position < count)
        {
            throw new ProtocolException("frame is truncated");
        }

        ReadOnlySpan<byte> slice = _payload.Slice(_position, count);
        _position += count;
        return slice;
    }
}
