using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon;

/// <summary>
/// <c>portreserved --release-kernel</c>: what stopping PortReserve for good takes. A stopped daemon leaves its bind hooks
/// pinned and its entries in the kernel list, so that the next daemon takes them over without a gap; this detaches the
/// hooks, unpins their maps, takes the daemon's entries (per its owned-ports record) out of the kernel list, leaving
/// entries others wrote, and removes the process trees a stop left for the next daemon. Refused while a daemon uses the state directory or the pins.
/// </summary>
internal static class KernelRelease
{
    public static string Run(DaemonOptions options)
    {
        var done = new List<string>();
        if (Directory.Exists(options.StateDirectory))
        {
            // Its records say which kernel entries and cgroups to remove: only a directory nobody else may write is believed.
            Server.TrustedDirectory.Ensure(options.StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "state directory", "--state-dir");
            using Microsoft.Win32.SafeHandles.SafeFileHandle stateLock = DaemonHost.LockStateDirectory(options.StateDirectory);
            done.Add(ReleaseKernelList(options));
            if (ReleaseProcessTrees(options) is { } trees)
            {
                done.Add(trees);
            }
        }

        if (Directory.Exists(options.BpfDirectory) && Interop.Libc.IsBpfFileSystem(options.BpfDirectory))
        {
            IReadOnlyList<string> removed;
            using (PinDirectory pins = PinDirectory.Open(options.BpfDirectory))
            {
                removed = BindHook.Unpin(pins);
            }

            Directory.Delete(options.BpfDirectory);
            done.Add(removed.Count == 0 ? $"nothing was pinned in {options.BpfDirectory}" : $"detached the bind hooks pinned in {options.BpfDirectory} ({string.Join(", ", removed)})");
        }
        else
        {
            done.Add($"no bind hooks are pinned in {options.BpfDirectory}");
        }

        return $"portreserved: {string.Join("; ", done)}. Nothing of PortReserve's is enforced until a daemon starts again.";
    }

    /// <summary>
    /// A stop leaves the process trees of <c>portreserve run</c> commands for the next daemon: with none to come, they go
    /// (their processes are moved back to the cgroups they came from). Null when none were left.
    /// </summary>
    private static string? ReleaseProcessTrees(DaemonOptions options)
    {
        string record = Path.Combine(options.StateDirectory, "process-trees");
        if (!File.Exists(record) || CgroupHierarchy.Find(out _) is not { } cgroups)
        {
            return null;
        }

        // Made with nothing restored, process trees remove every tree the record lists, and record what stays busy.
        using (new ProcessTrees(cgroups, record, TimeProvider.System))
        {
        }

        return File.Exists(record)
            ? $"left process trees still busy, listed in {record}"
            : "removed the process trees of runtime holders (their processes went back to the cgroups they came from)";
    }

    private static string ReleaseKernelList(DaemonOptions options)
    {
        using var record = new OwnedPortsRecord(Path.Combine(options.StateDirectory, "kernel-ports"));
        PortSet owned = record.Load();
        if (owned.IsEmpty)
        {
            return "the kernel list holds nothing of the daemon's";
        }

        // What it takes out is what the list holds of the record's: the record may name entries already gone.
        PortSet taken = KernelPortList.Parse(File.ReadAllText(options.KernelListPath));
        taken.IntersectWith(owned);
        (ReservedPortsSink sink, PortSet others) = ReservedPortsSink.Open(KernelSyncMode.On, options.KernelListPath, record, new PortSet(), NullLogger.Instance);
        using (sink)
        {
            var snapshot = new KernelSnapshot();
            snapshot.All.CopyFrom(others);
            sink.Apply(snapshot);
        }

        return taken.IsEmpty ? "the kernel list holds nothing of the daemon's" : $"took {KernelPortList.Format(taken)} out of {options.KernelListPath}";
    }
}
