using System.Buffers.Binary;
using System.Text;

namespace PortReserve.Fuzz;

/// <summary>
/// Frames for fuzzing the daemon: well-formed requests of every type with random field values, and those frames broken
/// every way a buggy or hostile client could (bit flips, truncation, trailing bytes, reply bits, flags, statuses,
/// unknown types, empty and oversized frames, pure noise). Deterministic for a seed.
/// </summary>
public sealed class FrameMutator(int seed)
{
    private const int HeaderSize = 8;
    private readonly Random _random = new(seed);

    public byte[] Next() => _random.Next(10) switch
    {
        < 3 => WellFormed(),
        < 9 => Mutate(WellFormed()),
        _ => Noise(),
    };

    /// <summary>A request whose every field is in range (it may still be refused: unknown token, overlap, access).</summary>
    public byte[] WellFormed()
    {
        byte type = (byte)_random.Next(1, 9);
        var payload = new List<byte>();
        switch (type)
        {
            case 1 or 7 or 8:
                AddBlock(payload);
                break;
            case 2 or 3:
                AddUInt64(payload, _random.Next(3) == 0 ? 0 : (ulong)_random.NextInt64());
                payload.Add((byte)_random.Next(3));
                break;
            case 4:
                payload.Add((byte)_random.Next(3));
                break;
            case 6:
                AddBlock(payload);
                AddNames(payload);
                AddNames(payload);
                break;
        }

        byte[] frame = new byte[HeaderSize + payload.Count];
        frame[0] = 1;
        frame[1] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)_random.Next());
        payload.CopyTo(frame, HeaderSize);
        return frame;
    }

    public byte[] Mutate(byte[] frame)
    {
        switch (_random.Next(9))
        {
            case 0:
                for (int i = 0, flips = _random.Next(1, 4); i < flips && frame.Length > 0; i++)
                {
                    frame[_random.Next(frame.Length)] ^= (byte)(1 << _random.Next(8));
                }

                return frame;
            case 1:
                return frame[.._random.Next(frame.Length + 1)];
            case 2:
                return [.. frame, .. RandomBytes(_random.Next(1, 64))];
            case 3:
                frame[1] |= 0x80;
                return frame;
            case 4:
                frame[2] = (byte)_random.Next(1, 256);
                return frame;
            case 5:
                frame[3] = (byte)_random.Next(1, 256);
                return frame;
            case 6:
                frame[1] = (byte)_random.Next(256);
                return frame;
            case 7:
                frame[0] = (byte)_random.Next(256);
                return frame;
            default:
                return _random.Next(4) == 0 ? new byte[_random.Next(4097, 70_000)] : [];
        }
    }

    private byte[] Noise() => RandomBytes(_random.Next(0, 300));

    private byte[] RandomBytes(int count)
    {
        byte[] bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private void AddBlock(List<byte> payload)
    {
        payload.Add((byte)_random.Next(1, 3));
        AddUInt16(payload, (ushort)(_random.Next(4) == 0 ? 0 : _random.Next(1, 65536)));
        AddUInt16(payload, (ushort)(_random.Next(4) == 0 ? _random.Next(65536) : _random.Next(1, 50)));
    }

    private void AddNames(List<byte> payload)
    {
        int count = _random.Next(5) == 0 ? _random.Next(256) : _random.Next(3);
        payload.Add((byte)count);
        for (int i = 0; i < count && payload.Count < 3000; i++)
        {
            byte[] name = Encoding.UTF8.GetBytes(_random.Next(3) switch { 0 => "nobody", 1 => "root", _ => new string('x', _random.Next(0, 80)) });
            AddUInt16(payload, (ushort)name.Length);
            payload.AddRange(name);
        }
    }

    private static void AddUInt16(List<byte> payload, ushort value) => payload.AddRange([unchecked((byte)value), (byte)(value >> 8)]);

    private static void AddUInt64(List<byte> payload, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            payload.Add(unchecked((byte)(value >> (8 * i))));
        }
    }
}
