using System.Net.Sockets;

namespace PortReserve.Daemon.Server;

/// <summary>
/// A Unix socket path a listener bound: it creates the directory (or checks that only the daemon's user can write the
/// one that is there, <see cref="TrustedDirectory"/>), removes a stale socket left by a crash (never a live one), binds,
/// and sets the file's mode without following a link; disposing it removes the file. A listener that failed to bind
/// owns no file, so it can never remove another daemon's socket.
/// </summary>
internal sealed class UnixSocketFile : IDisposable
{
    /// <summary>rw for everyone: who may do what is decided per request from the peer's credentials, not by the file.</summary>
    public const UnixFileMode EveryoneReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private UnixSocketFile(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// Binds <paramref name="socket"/> to <paramref name="path"/> and makes the file <paramref name="mode"/> (null: as
    /// the umask leaves it); <paramref name="option"/> names the option a refused path came from.
    /// </summary>
    public static UnixSocketFile Bind(Socket socket, string path, UnixFileMode? mode, string option)
    {
        PrepareForBind(path, socket.SocketType, option);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        var bound = new UnixSocketFile(path);
        try
        {
            if (mode is { } chosen)
            {
                Interop.Libc.ChmodNoFollow(path, chosen);
            }

            return bound;
        }
        catch
        {
            bound.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }

    private static void PrepareForBind(string path, SocketType type, string option)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/";
        TrustedDirectory.Ensure(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, "socket directory", option, stickyWillDo: true);

        var info = new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
        {
            return;
        }

        if (!Interop.Libc.IsSocket(path))
        {
            throw new InvalidOperationException($"{path} exists and is not a socket; remove it or choose another --socket");
        }

        if (SomeoneListens(path, type))
        {
            throw new InvalidOperationException($"something is already listening on {path}; stop it first (if it is portreserved, portreserve status shows it)");
        }

        File.Delete(path);
    }

    private static bool SomeoneListens(string path, SocketType type)
    {
        using var probe = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
