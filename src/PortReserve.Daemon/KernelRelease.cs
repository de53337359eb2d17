using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon;

/// <summary>
/// <c>portreserved --release-kernel</c>: what stopping PortReserve for good takes. A stopped daemon leaves its bind hooks
/// pinned and its entries in the kernel list, so that the next daemon takes them over without a gap; this detaches the
/// hooks, unpins their maps and takes the daemon's entries (per its owned-ports record) out of the kernel list, leaving
/// entries others wrote. Refused while a daemon uses the state directory or the pins.
/// </summary>
internal static class KernelRelease
{
    public static string Run(DaemonOptions options)
    {
        var done = new List<string>();
        if (Directory.Exists(options.StateDirectory))
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle stateLock = DaemonHost.LockStateDirectory(options.StateDirectory);
            done.Add(ReleaseKernelList(options));
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

    private static string ReleaseKernelList(DaemonOptions options)
    {
        using var record = new OwnedPortsRecord(Path.Combine(options.StateDirectory, "kernel-ports"));
        PortSet owned = record.Load();
        if (owned.IsEmpty)
        {
            return "the kernel list holds nothing of the daemon's";
        }

        (ReservedPortsSink sink, PortSet others) = ReservedPortsSink.Open(KernelSyncMode.On, options.KernelListPath, record, new PortSet(), NullLogger.Instance);
        using (sink)
        {
            var snapshot = new KernelSnapshot();
            snapshot.All.CopyFrom(others);
            sink.Apply(snapshot);
        }

        return $"took {KernelPortList.Format(owned)} out of {options.KernelListPath}";
    }
}
