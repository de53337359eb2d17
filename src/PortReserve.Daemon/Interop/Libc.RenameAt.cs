using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PortReserve.Interop;

internal static partial class Libc
{
    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/> in one directory, in one step.</summary>
    public static void RenameAt(SafeFileHandle directory, string from, string to)
    {
        if (RenameAt(directory, from, directory, to) != 0)
        {
            throw new IOException($"cannot rename {from} to {to}: {Describe(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt(SafeFileHandle fromDirectory, string from, SafeFileHandle toDirectory, string to);
}
