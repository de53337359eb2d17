using System.Globalization;
using System.Runtime.InteropServices;

namespace PortReserve.Interop;

/// <summary>
/// User and group names to ids through libc (getpwnam_r, getgrnam_r, getgrgid_r), so every NSS source (files, LDAP,
/// systemd) answers. The id sits at offset 16 of both struct passwd and struct group, and a group's member list
/// (char **gr_mem) at offset 24, on every 64-bit Linux ABI.
/// </summary>
internal static partial class Accounts
{
    private const int IdOffset = 16;
    private const int MembersOffset = 24;
    private const int BufferSize = 16 * 1024;

    /// <summary>A user's uid by name or decimal uid; null when no such user.</summary>
    public static uint? UserId(string nameOrId) => Resolve(nameOrId, group: false);

    /// <summary>A group's gid by name or decimal gid; null when no such group.</summary>
    public static uint? GroupId(string nameOrId) => Resolve(nameOrId, group: true);

    /// <summary>
    /// The uids of the users the account database lists as members of group <paramref name="gid"/> (its supplementary
    /// members; users whose primary group it is are not listed there). Names that no longer resolve are skipped.
    /// </summary>
    public static unsafe IReadOnlyList<uint> GroupMembers(uint gid)
    {
        byte* entry = stackalloc byte[64];
        for (int size = BufferSize; ; size *= 4)
        {
            byte[] buffer = new byte[size];
            byte* result = null;
            fixed (byte* scratch = buffer)
            {
                int error = GetGrGid(gid, entry, scratch, (nuint)buffer.Length, &result);
                if (error == Libc.ERANGE && size < 16 * 1024 * 1024)
                {
                    continue;
                }

                if (error != 0 || result == null)
                {
                    return [];
                }

                var members = new List<uint>();
                for (byte** name = *(byte***)(entry + MembersOffset); name != null && *name != null; name++)
                {
                    if (UserId(Marshal.PtrToStringUTF8((nint)(*name)) ?? string.Empty) is { } uid)
                    {
                        members.Add(uid);
                    }
                }

                return members;
            }
        }
    }

    private static unsafe uint? Resolve(string nameOrId, bool group)
    {
        if (uint.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
        {
            return id;
        }

        byte* entry = stackalloc byte[64];
        byte[] buffer = new byte[BufferSize];
        byte* result = null;
        fixed (byte* scratch = buffer)
        {
            int error = group
                ? GetGrNam(nameOrId, entry, scratch, (nuint)buffer.Length, &result)
                : GetPwNam(nameOrId, entry, scratch, (nuint)buffer.Length, &result);
            return error == 0 && result != null ? *(uint*)(entry + IdOffset) : null;
        }
    }

    [LibraryImport("libc", EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetPwNam(string name, byte* entry, byte* buffer, nuint length, byte** result);

    [LibraryImport("libc", EntryPoint = "getgrgid_r")]
    private static unsafe partial int GetGrGid(uint gid, byte* entry, byte* buffer, nuint length, byte** result);

    [LibraryImport("libc", EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetGrNam(string name, byte* entry, byte* buffer, nuint length, byte** result);
}
