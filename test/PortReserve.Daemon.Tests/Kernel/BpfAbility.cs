using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>
/// What the kernel lets this process do with BPF, found by trying it once: a name says nothing (root mapped in a user
/// namespace is called root and may load nothing).
/// </summary>
internal static class BpfAbility
{
    private static readonly Lazy<string?> s_cannotLoad = new(ProbeLoad);

    /// <summary>Why the bind hook's maps cannot be made here, or null when they can (and so may its programs be loaded).</summary>
    public static string? CannotLoad => s_cannotLoad.Value;

    /// <summary>
    /// Why a bind hook cannot be attached here, or null when it can: the maps load, a cgroup v2 tree is mounted, and the
    /// test runs in a private network namespace (./test.sh), to which the hook's namespace check confines it.
    /// </summary>
    public static string? CannotAttach(out CgroupHierarchy? cgroups)
    {
        cgroups = null;
        if (CannotLoad is { } cannotLoad)
        {
            return cannotLoad;
        }

        if (!PortReserve.Testing.PrivateNamespace.IsCurrent)
        {
            return "bind hooks see every bind on the machine: attach them only in a private network namespace (./test.sh)";
        }

        cgroups = CgroupHierarchy.Find(out string? missing);
        return cgroups is null ? missing ?? "no cgroup v2 tree to attach to" : null;
    }

    private static string? ProbeLoad()
    {
        try
        {
            using BindHookMaps maps = BindHookMaps.Create();
            return null;
        }
        catch (IOException e)
        {
            return $"this process may not make BPF maps ({e.Message})";
        }
    }
}
