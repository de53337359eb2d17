using System.Runtime.InteropServices;

namespace PortReserve.IntegrationTests.Infrastructure;

internal static partial class Signals
{
    public const int SigHup = 1;
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigUsr1 = 10;
    public const int SigCont = 18;
    public const int SigStop = 19;

    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
