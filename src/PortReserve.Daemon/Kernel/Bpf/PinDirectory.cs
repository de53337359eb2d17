using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The bpffs directory the bind hooks and their maps are pinned in (<c>--bpf-dir</c>), so that they outlive the daemon:
/// a crashed, killed or stopped daemon leaves its reservations enforced, and the next one takes them over. One daemon
/// holds it at a time (an exclusive flock on the directory). It must be root's and writable by nobody else, like the
/// state directory: whoever could write it could pin objects of their own in the daemon's place.
/// </summary>
internal sealed class PinDirectory : IDisposable
{
    public const string DefaultPath = "/sys/fs/bpf/portreserve";
    private const string BpfMount = "/sys/fs/bpf";
    private const string Staged = "_new"; // bpffs refuses names with a dot

    private readonly SafeFileHandle _directory;

    private PinDirectory(string path, SafeFileHandle directory)
    {
        Path = path;
        _directory = directory;
    }

    public string Path { get; }

    /// <summary>
    /// Opens (creating it if need be) and locks <paramref name="path"/>. The default place mounts bpffs at /sys/fs/bpf
    /// when nothing is mounted there, as systemd would have; another place must already be on a bpf filesystem. Throws
    /// <see cref="InvalidOperationException"/> when another daemon holds it: no mode lets two share the hooks.
    /// </summary>
    public static PinDirectory Open(string path)
    {
        string? parent = System.IO.Path.GetDirectoryName(path);
        string existing = Directory.Exists(path) || parent is null ? path : parent;
        if (!Interop.Libc.IsBpfFileSystem(existing))
        {
            if (path != DefaultPath || Interop.Libc.IsBpfFileSystem(BpfMount))
            {
                throw new IOException($"{existing} is not on a bpf filesystem: mount one (mount -t bpf bpf DIR) or choose another --bpf-dir");
            }

            Interop.Libc.MountBpfFileSystem(BpfMount);
        }

        string canonical = Server.TrustedDirectory.Ensure(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "bpf pin directory", "--bpf-dir");
        SafeFileHandle directory = Interop.Libc.OpenBpfDirectory(canonical);
        if (!Interop.Libc.TryLockExclusive(directory))
        {
            directory.Dispose();
            throw new InvalidOperationException($"the bind hooks pinned in {canonical} are in use by another portreserved; stop it or choose another --bpf-dir");
        }

        return new PinDirectory(canonical, directory);
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

    public void Dispose() => _directory.Dispose();
}
