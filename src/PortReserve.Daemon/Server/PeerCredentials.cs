using System.Buffers.Binary;
using System.Net.Sockets;

namespace PortReserve.Daemon.Server;

/// <summary>
/// The connecting process's identity as the kernel recorded it at connect time (SO_PEERCRED, and SO_PEERGROUPS for
/// its supplementary groups), never as claimed.
/// </summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid, uint[] Groups)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int SoPeerGroups = 59;

    /// <summary>Reads the peer's credentials; its supplementary groups only when <paramref name="withGroups"/> (one more getsockopt).</summary>
    public static PeerCredentials Read(Socket socket, bool withGroups = true)
    {
        Span<byte> ucred = stackalloc byte[12];
        int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != ucred.Length)
        {
            throw new SocketException((int)SocketError.ProtocolOption);
        }

        uint gid = BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]);
        return new PeerCredentials(
            BinaryPrimitives.ReadInt32LittleEndian(ucred),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
            gid,
            withGroups ? [gid, .. ReadGroups(socket)] : [gid]);
    }

    private static uint[] ReadGroups(Socket socket)
    {
        // Most processes have a handful of groups; retry with the kernel's maximum (NGROUPS_MAX 65536) if needed.
        foreach (int capacity in (int[])[256, 65536])
        {
            byte[] buffer = new byte[capacity * sizeof(uint)];
            try
            {
                int length = socket.GetRawSocketOption(SolSocket, SoPeerGroups, buffer);
                uint[] groups = new uint[length / sizeof(uint)];
                for (int i = 0; i < groups.Length; i++)
                {
                    groups[i] = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i * sizeof(uint)));
                }

                return groups;
            }
            catch (SocketException) when (capacity < 65536)
            {
            }
        }

        return [];
    }
}
