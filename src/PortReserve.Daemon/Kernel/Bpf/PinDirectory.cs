using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The bpffs directory the bind hooks and their maps are pinned in (<c>--bpf-dir</c>), so that they outlive the daemon:
/// a crashed, killed or stopped daemon leaves its reservations enforced, and the next one takes them over. One daemon
/// holds it at a time (an exclusive flock on the directory). It must be root's, mode 0700, under directories only root
/// may write: whoever could write it could pin objects of their own in the daemon's place, and whoever could open it
/// could hold its lock.
/// </summary>
internal sealed class PinDirectory : IDisposable
{
    public const string DefaultPath = "/sys/fs/bpf/portreserve";
    private const string BpfMount = "/sys/fs/bpf";
    private const string Staged = "_new"; // bpffs refuses names with a dot
    private const UnixFileMode Private = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly SafeFileHandle _directory;

    private PinDirectory(string path, SafeFileHandle directory)
    {
        Path = path;
        _directory = directory;
    }

    public string Path { get; }

    /// <summary>
    /// Opens (creating it if need be) and locks <paramref name="path"/>. The default place mounts bpffs at /sys/fs/bpf
    /// (mode 0700) when nothing is mounted there, as systemd would have; another place must already be on a bpf
    /// filesystem. Throws <see cref="IOException"/> when no bpf filesystem can be had, and
    /// <see cref="InvalidOperationException"/> when the place cannot be trusted or another daemon holds it: a daemon
    /// then refuses to start, in every mode, rather than run without the hooks an earlier one pinned.
    /// </summary>
    public static PinDirectory Open(string path)
    {
        path = System.IO.Path.IsPathFullyQualified(path) ? System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path)) : path;
        if (!System.IO.Path.IsPathFullyQualified(path) || System.IO.Path.GetDirectoryName(path) is not { } parent)
        {
            throw Refused(path, "is not an absolute path below a bpf filesystem's mount");
        }

        if (path == DefaultPath && !Interop.Libc.IsBpfFileSystem(BpfMount))
        {
            Interop.Libc.MountBpfFileSystem(BpfMount);
        }

        if (!Interop.Libc.IsBpfFileSystem(parent))
        {
            throw Refused(path, $"is not on a bpf filesystem ({parent} is not one): mount one (mount -t bpf -o mode=0700 bpf DIR)");
        }

        CheckAncestors(path, parent);
        SafeFileHandle directory;
        try
        {
            if (Interop.Libc.StatNoFollow(path) is null)
            {
                Interop.Libc.MakeDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            directory = Interop.Libc.OpenBpfDirectory(path);
        }
        catch (IOException e)
        {
            throw Refused(path, $"cannot be used ({e.Message})");
        }

        // Checked on what was opened: what the path names now does not matter.
        Interop.Libc.FileStatus status = Interop.Libc.StatOf(directory);
        string? problem = status.Uid != 0 ? $"is owned by uid {status.Uid}, not root"
            : (status.Permissions & Private) != 0 ? $"may be opened by users other than root (mode {Octal(status.Permissions)}; it must be 0700)"
            : null;
        if (problem is not null || !Interop.Libc.TryLockExclusive(directory))
        {
            directory.Dispose();
            throw problem is not null
                ? Refused(path, problem)
                : new DaemonRunningException($"the bind hooks pinned in {path} are in use by another portreserved; stop it or choose another --bpf-dir");
        }

        return new PinDirectory(path, directory);
    }

    /// <summary>The object pinned as <paramref name="name"/>, or null.</summary>
    public SafeFileHandle? Find(string name) => Interop.Bpf.OpenPinned(_directory, name);

    /// <summary>Pins <paramref name="handle"/> as <paramref name="name"/>, in place of what was pinned there, in one step.</summary>
    public void Replace(string name, SafeFileHandle handle)
    {
        Interop.Libc.UnlinkAt(_directory, name + Staged);
        Interop.Bpf.Pin(handle, _directory, name + Staged);
        Interop.Libc.RenameAt(_directory, name + Staged, name);
    }

    /// <summary>Unpins <paramref name="name"/>: a link whose last holder this was detaches. False when nothing was pinned there.</summary>
    public bool Remove(string name) => Interop.Libc.UnlinkAt(_directory, name);

    /// <summary>
    /// Unpins whatever is there but <paramref name="names"/>: a stage (<c>NAME_new</c>) left by a daemon killed while it
    /// pinned, or an object of a version that pinned more. Returns what it removed.
    /// </summary>
    public IReadOnlyList<string> RemoveAllBut(IReadOnlyCollection<string> names)
    {
        string[] stray = [.. Directory.EnumerateFileSystemEntries($"/proc/self/fd/{_directory.DangerousGetHandle()}")
            .Select(entry => System.IO.Path.GetFileName(entry))
            .Where(name => !names.Contains(name))];
        return [.. stray.Where(Remove)];
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>
    /// The directories above the pin directory belong to root and nobody else may write them. Within the bpf filesystem
    /// (its root among them) not even with the sticky bit, as bpffs mounted without <c>-o mode</c> is 1777: whoever could
    /// create the pin directory first would choose what the daemon pins into, or keep it from starting. Above the mount
    /// a sticky directory such as /tmp is fine: nobody can rename root's directory there.
    /// </summary>
    private static void CheckAncestors(string path, string parent)
    {
        for (string? above = parent; above is not null; above = System.IO.Path.GetDirectoryName(above))
        {
            Interop.Libc.FileStatus status = Interop.Libc.StatNoFollow(above) ?? throw Refused(path, $"lies under {above}, which does not exist");
            bool sticky = (status.Permissions & UnixFileMode.StickyBit) != 0 && !Interop.Libc.IsBpfFileSystem(above);
            if (!status.IsDirectory || status.Uid != 0 || ((status.Permissions & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && !sticky))
            {
                throw Refused(path, $"lies under {above}, which {(status.IsDirectory ? $"users other than root may write (owner uid {status.Uid}, mode {Octal(status.Permissions)})" : "is not a directory")}; for a bpf filesystem, mount it with -o mode=0700");
            }
        }
    }

    private static InvalidOperationException Refused(string path, string problem)
        => new($"bpf pin directory {path} {problem}. Only root may be able to reach what portreserved pins; fix it or choose another --bpf-dir");

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
