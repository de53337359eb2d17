using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Daemon.Interop;

/// <summary>The calls that find, mount and name things in a bpf filesystem, where the bind hooks are pinned.</summary>
internal static partial class Libc
{
    private const long BpfFileSystemMagic = 0xcafe4a11;

    /// <summary>Whether <paramref name="path"/> lies on a bpf filesystem (false when it does not exist).</summary>
    public static unsafe bool IsBpfFileSystem(string path)
    {
        byte* buffer = stackalloc byte[120];
        return StatFs(path, buffer) == 0 && *(long*)buffer == BpfFileSystemMagic;
    }

    /// <summary>Mounts a bpf filesystem at <paramref name="path"/>, as systemd does at /sys/fs/bpf (root only, mode 0700).</summary>
    public static void MountBpfFileSystem(string path)
    {
        if (Mount("bpf", path, "bpf", 0, "mode=0700") != 0)
        {
            throw new IOException($"cannot mount a bpf filesystem at {path}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Opens a directory, refusing a link in its place, and checks that it is on a bpf filesystem.</summary>
    public static unsafe SafeFileHandle OpenBpfDirectory(string path)
    {
        SafeFileHandle handle = Open(path, O_RDONLY | ODirectory | ONoFollow | O_CLOEXEC);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"cannot open {path}: {Describe(errno)}");
        }

        byte* buffer = stackalloc byte[120];
        if (FStatFs(handle, buffer) != 0 || *(long*)buffer != BpfFileSystemMagic)
        {
            handle.Dispose();
            throw new IOException($"{path} is not on a bpf filesystem");
        }

        return handle;
    }

    /// <summary>Removes the entry <paramref name="name"/> of <paramref name="directory"/>; false when there is none.</summary>
    public static bool UnlinkAt(SafeFileHandle directory, string name)
    {
        if (UnlinkAtRaw(directory, name, 0) == 0)
        {
            return true;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == ENOENT ? false : throw new IOException($"cannot remove {name}: {Describe(errno)}");
    }

    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/> in one directory, in one step.</summary>
    public static void RenameAt(SafeFileHandle directory, string from, string to)
    {
        if (RenameAtRaw(directory, from, directory, to) != 0)
        {
            throw new IOException($"cannot rename {from} to {to}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatFs(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string type, ulong flags, string data);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAtRaw(SafeFileHandle directory, string name, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAtRaw(SafeFileHandle fromDirectory, string from, SafeFileHandle toDirectory, string to);
}
