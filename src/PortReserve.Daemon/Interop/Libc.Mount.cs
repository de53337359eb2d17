using System.Runtime.InteropServices;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Mounts a bpf filesystem at <paramref name="path"/>, as systemd does at /sys/fs/bpf (root only, mode 0700).</summary>
    public static void MountBpfFileSystem(string path)
    {
        if (Mount("bpf", path, "bpf", 0, "mode=0700") != 0)
        {
            throw new IOException($"cannot mount a bpf filesystem at {path}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string type, ulong flags, string data);
}
