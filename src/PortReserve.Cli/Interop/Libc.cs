using System.Runtime.InteropServices;

namespace PortReserve.Cli.Interop;

/// <summary>libc calls the CLI needs: forwarding a signal to the command it runs, and handing it sockets.</summary>
internal static partial class Libc
{
    private const int F_DUPFD = 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>A duplicate of <paramref name="fd"/> at the lowest free descriptor at or above <paramref name="minimum"/>, without close-on-exec, so that a child inherits it.</summary>
    public static int DuplicateInheritable(nint fd, int minimum)
    {
        int duplicate = Fcntl((int)fd, F_DUPFD, minimum);
        return duplicate >= 0 ? duplicate : throw new IOException($"cannot duplicate a socket for the command: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
