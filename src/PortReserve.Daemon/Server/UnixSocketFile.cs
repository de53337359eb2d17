using System.Net.Sockets;

namespace PortReserve.Daemon.Server;

/// <summary>Prepares a Unix socket path for bind: creates its directory and removes a stale socket left by a crash.</summary>
internal static class UnixSocketFile
{
    public static void PrepareForBind(string path, SocketType type = SocketType.Seqpacket)
    {
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

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

    public static void Remove(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
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
