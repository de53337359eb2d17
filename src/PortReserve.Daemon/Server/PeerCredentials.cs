using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

/// <summary>
/// Reads the connecting process as the kernel knows it, never as it claims: its pid at connect time, a pidfd of it (the
/// one handle on that process that its pid's reuse cannot fool), the identity that pidfd gives it for good
/// (<see cref="Principal.ProcessId"/>), its real uid and gid, and its supplementary groups.
/// </summary>
/// <remarks>
/// Real ids, not effective ones: the bind hook can only see a binding process's real ids (bpf_get_current_uid_gid), and
/// the daemon must judge a process as the hook does. A set-user-id program is therefore treated as the user who ran it.
/// </remarks>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int SoPeerGroups = 59;

    /// <summary>The peer as <paramref name="access"/> judges it, and a pidfd of it (null where the kernel gives none).</summary>
    public static Principal Read(Socket socket, AccessPolicy access, out SafeFileHandle? pidfd)
    {
        Span<byte> ucred = stackalloc byte[12];
        int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != ucred.Length)
        {
            throw new SocketException((int)SocketError.ProtocolOption);
        }

        int pid = BinaryPrimitives.ReadInt32LittleEndian(ucred);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]);
        uint gid = BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]);
        uint[] supplementary = ReadGroups(socket);

        pidfd = Interop.Libc.PeerPidfd(socket.SafeHandle);
        try
        {
            if (pidfd is not null && RealIds(pidfd, pid) is { } real)
            {
                (uid, gid) = real;
            }

            uint[] groups = [gid, .. supplementary];
            return new Principal(pid, Processes.ProcessIdentity.Of(pidfd), uid, gid, groups, access.IsAdministrator(uid, groups));
        }
        catch
        {
            // Whatever failed, the caller gets no descriptor to close.
            pidfd?.Dispose();
            pidfd = null;
            throw;
        }
    }

    /// <summary>
    /// The real ids: from the pidfd where the kernel tells (Linux 6.13), else from /proc by pid, which counts only if
    /// the pidfd's process still holds that pid afterwards. Null when the process is gone: the connect-time ids stand.
    /// </summary>
    private static (uint Uid, uint Gid)? RealIds(SafeFileHandle pidfd, int pid)
    {
        if (Interop.Libc.RealIds(pidfd) is { } fromPidfd)
        {
            return fromPidfd;
        }

        return Processes.ProcessStatus.ReadIds(pid) is ({ } uid, { } gid, _) && Interop.Libc.PidfdIsAlive(pidfd) ? (uid, gid) : null;
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
