using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The list of process tree cgroups a daemon made, in its state directory, one path a line: written whole into a fresh
/// file (never through a link left there) and renamed over the last, read only when it is a file of its own.
/// </summary>
internal static class ProcessTreeRecord
{
    public static string[] Read(string path)
    {
        try
        {
            using SafeFileHandle file = Interop.Libc.OpenNoFollow(path, Interop.Libc.O_RDONLY);
            using var reader = new StreamReader(new FileStream(file, FileAccess.Read));
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    public static void Write(string path, string[] cgroups)
    {
        if (cgroups.Length == 0)
        {
            File.Delete(path);
            return;
        }

        string next = path + ".new";
        File.Delete(next);
        using (SafeFileHandle file = Interop.Libc.OpenNoFollow(next, Interop.Libc.O_WRONLY | Interop.Libc.O_CREAT | Interop.Libc.O_EXCL))
        {
            RandomAccess.Write(file, System.Text.Encoding.UTF8.GetBytes(string.Join('\n', cgroups) + "\n"), 0);
        }

        File.Move(next, path, overwrite: true);
    }
}
