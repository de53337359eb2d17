using System.Runtime.InteropServices;

namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// What the kernel lets these tests (and the daemons they start) do, found by trying once: a user's name says nothing
/// (root mapped in a user namespace is called root and may attach nothing).
/// </summary>
internal static partial class KernelAbility
{
    private static readonly Lazy<string?> s_noBindHooks = new(ProbeBindHooks);

    /// <summary>Why a daemon started here cannot attach its bind hooks, or null when it can.</summary>
    public static string? NoBindHooks => s_noBindHooks.Value;

    /// <summary>Skips the test, saying why, where a daemon's bind hooks (on by default where they can be) cannot be had.</summary>
    public static void SkipUnlessBindHooks()
    {
        if (NoBindHooks is { } reason)
        {
            Assert.Skip($"needs the daemon's bind hooks: {reason}");
        }
    }

    private static unsafe string? ProbeBindHooks()
    {
        if (!OtherUser.CanSwitch)
        {
            return "the bind hooks attach at the machine's cgroup root, which needs real root (not root mapped in a user namespace)";
        }

        // BPF_MAP_CREATE of a one-element array map: union bpf_attr's map_type, key_size, value_size, max_entries.
        int* attr = stackalloc int[18];
        new Span<int>(attr, 18).Clear();
        (attr[0], attr[1], attr[2], attr[3]) = (2, 4, 4, 1);
        long fd = Syscall(RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 280 : 321, 0, attr, 72);
        if (fd < 0)
        {
            return $"this kernel lets no BPF map be made here ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})";
        }

        _ = Close((int)fd);
        return null;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Syscall(long number, long command, int* attr, long size);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
