using System.Globalization;
using PortReserve.Interop;

namespace PortReserve.Daemon.Server;

/// <summary>
/// A directory the daemon keeps its socket or its state in, checked before anything is created there: it and every
/// directory above it belong to root or to the daemon's own user, and nobody else may write them (a sticky directory
/// such as /tmp above it is fine: others cannot rename or remove what is not theirs there). Whoever could write one of
/// them could swap a file the daemon is about to chmod or write for a link to any file of root's.
/// </summary>
internal static class TrustedDirectory
{
    private const UnixFileMode GroupOrOtherWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    /// <summary>
    /// Creates <paramref name="directory"/> (and what is missing above it) with <paramref name="mode"/> when it does not
    /// exist, then checks it; throws with what is wrong and what to do, naming <paramref name="option"/>. With
    /// <paramref name="stickyWillDo"/> the directory itself may be a sticky one such as /tmp, where nobody can rename or
    /// remove a file of the daemon's (enough for a socket, which is created by bind and never opened by path).
    /// </summary>
    /// <returns>The directory's canonical path, which nothing but its owner can change.</returns>
    public static string Ensure(string directory, UnixFileMode mode, string what, string option, bool stickyWillDo = false)
    {
        uint self = Protocol.SocketLocations.EffectiveUid;
        if (Libc.StatNoFollow(directory) is null)
        {
            Directory.CreateDirectory(directory, mode);
        }

        string canonical = Libc.RealPath(directory);
        Libc.FileStatus status = Libc.StatNoFollow(canonical) ?? throw new IOException($"{what} {directory} vanished while it was checked");
        if (!status.IsDirectory)
        {
            throw Refused(what, directory, option, "is not a directory");
        }

        bool sticky = stickyWillDo && (status.Permissions & UnixFileMode.StickyBit) != 0 && status.Uid == 0;
        if (status.Uid != self && !sticky)
        {
            throw Refused(what, directory, option, $"is owned by uid {status.Uid}, not by uid {self} (the user portreserved runs as)");
        }

        if ((status.Permissions & GroupOrOtherWrite) != 0 && !sticky)
        {
            throw Refused(what, directory, option, $"may be written by users other than its owner (mode {Octal(status.Permissions)})");
        }

        CheckAncestors(canonical, self, what, directory, option);
        return canonical;
    }

    private static void CheckAncestors(string canonical, uint self, string what, string directory, string option)
    {
        for (string? above = Path.GetDirectoryName(canonical); above is not null; above = Path.GetDirectoryName(above))
        {
            Libc.FileStatus status = Libc.StatNoFollow(above) ?? throw new IOException($"{above} vanished while it was checked");
            if (status.Uid != 0 && status.Uid != self)
            {
                throw Refused(what, directory, option, $"lies under {above}, which is owned by uid {status.Uid}, who could rename it");
            }

            bool sticky = (status.Permissions & UnixFileMode.StickyBit) != 0;
            if ((status.Permissions & GroupOrOtherWrite) != 0 && !sticky)
            {
                throw Refused(what, directory, option, $"lies under {above}, which users other than its owner may write (mode {Octal(status.Permissions)})");
            }
        }
    }

    private static InvalidOperationException Refused(string what, string directory, string option, string problem)
        => new($"{what} {directory} {problem}: whoever else can write it could swap what portreserved creates there for a link to any file. Use a directory that only the daemon's user (and root) can write, or choose another with {option}");

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0').ToString(CultureInfo.InvariantCulture);
}
