using System.Runtime.InteropServices;

namespace PortReserve.Cli.Interop;

/// <summary>libc calls the CLI needs: forwarding a signal to the command it runs.</summary>
internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
