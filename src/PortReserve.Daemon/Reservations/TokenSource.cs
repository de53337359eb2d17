using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PortReserve.Interop;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// Unguessable 64-bit tokens from the kernel's CSPRNG (getrandom), fetched 64 at a time. RandomNumberGenerator would do
/// as well but maps OpenSSL's libcrypto (3.4 MB resident) into a daemon that needs nothing else from it.
/// Callers serialise access (the table is used under the service gate).
/// </summary>
internal sealed class TokenSource
{
    private readonly byte[] _pool = new byte[64 * sizeof(ulong)];
    private int _next = int.MaxValue;

    public unsafe ulong Next()
    {
        if (_next >= _pool.Length)
        {
            fixed (byte* buffer = _pool)
            {
                for (int filled = 0; filled < _pool.Length;)
                {
                    nint got = Libc.GetRandom(buffer + filled, (nuint)(_pool.Length - filled), 0);
                    if (got < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno != Libc.EINTR)
                        {
                            throw new InvalidOperationException($"getrandom failed (errno {errno}); no secure source of tokens");
                        }

                        continue;
                    }

                    filled += (int)got;
                }
            }

            _next = 0;
        }

        ulong token = BinaryPrimitives.ReadUInt64LittleEndian(_pool.AsSpan(_next));
        _next += sizeof(ulong);
        return token;
    }
}
