using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// The bind hook as this daemon installs it: its maps (administrators allowed, the lease set), its programs loaded, the
/// cgroup it attaches at, and the pin directory that makes it outlive the daemon. It attaches only when asked
/// (<see cref="Attach"/>), once the table's first commit filled the maps; while the daemon runs it moves the lease on
/// (<see cref="Renew"/>), so that runtime reservations stay enforced for the restart grace after the daemon last did.
/// </summary>
internal sealed class BindHookInstallation : IDisposable
{
    private readonly BindHook _hook;
    private readonly SafeFileHandle _cgroupRoot;
    private readonly PinDirectory? _pins;
    private readonly TimeSpan _restartGrace;
    private bool _attached;

    private BindHookInstallation(BindHookMaps maps, BindHook hook, CgroupHierarchy cgroups, SafeFileHandle cgroupRoot, PinDirectory? pins, TimeSpan restartGrace)
    {
        Maps = maps;
        _hook = hook;
        Cgroups = cgroups;
        _cgroupRoot = cgroupRoot;
        _pins = pins;
        _restartGrace = restartGrace;
    }

    public BindHookMaps Maps { get; }

    /// <summary>The runtime reservations the daemon before this one recorded in the pins, read before anything replaced them.</summary>
    public IReadOnlyList<RuntimeRecord> Recorded { get; private init; } = [];

    /// <summary>Why the earlier daemon's records are not restored (unreadable, or its lease ran out), or null.</summary>
    public string? RecordsUnreadable { get; private init; }

    /// <summary>The cgroup v2 hierarchy the hooks are attached to, where holders' process trees are made.</summary>
    public CgroupHierarchy Cgroups { get; }

    /// <summary>Where the hooks are attached and how long they last, for status and logs.</summary>
    public string Description => $"bind hooks attached at {Cgroups.Root}, {(_pins is null ? "for as long as the daemon runs" : $"pinned in {_pins.Path}, so they outlive the daemon")}";

    /// <summary>
    /// Prepares the hook, with the administrators (root always; members of the admin group by primary gid or by the
    /// account database) allowed on every persistent reservation; pinned in <paramref name="pinDirectory"/> unless null.
    /// Throws <see cref="NotSupportedException"/> or an I/O exception when this daemon or kernel cannot have it, and
    /// <see cref="InvalidOperationException"/> when another daemon holds the pins.
    /// </summary>
    public static BindHookInstallation Open(uint? adminGroupId, string? pinDirectory, TimeSpan restartGrace)
    {
        if (Unsupported() is { } reason)
        {
            throw new NotSupportedException(reason);
        }

        CgroupHierarchy cgroups = CgroupHierarchy.Find(out string? missing) ?? throw new NotSupportedException(missing);
        var opened = new List<IDisposable>();
        try
        {
            PinDirectory? pins = pinDirectory is null ? null : Keep(opened, PinDirectory.Open(pinDirectory));
            List<RuntimeRecord> recorded = [];
            string? unreadable = null;
            if (pins?.Find(BindHookMaps.RuntimeMap) is { } earlier)
            {
                // Records that cannot be read are not restored; enforcement goes on regardless.
                using (earlier)
                {
                    try
                    {
                        recorded = BindHookMaps.ReadRecords(earlier);
                        if (LeaseLapsed(pins) is { } lapsed)
                        {
                            // Anyone may have bound those ports since: nothing can vouch for them any more.
                            unreadable = lapsed;
                            recorded = [];
                        }
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException)
                    {
                        unreadable = e.Message;
                    }
                }
            }

            BindHookMaps maps = Keep(opened, BindHookMaps.Create());
            maps.SetLease(Lease(restartGrace));
            AllowAdministrators(maps, adminGroupId);
            SafeFileHandle root = Keep(opened, cgroups.OpenRoot());
            BindHook hook = Keep(opened, BindHook.Load(maps, NetworkNamespace.Cookie()));

            // Before the first commit writes the live map: a restored holder that exits after its entry is written is taken out.
            hook.RunExitProgram();
            return new BindHookInstallation(maps, hook, cgroups, root, pins, restartGrace) { Recorded = recorded, RecordsUnreadable = unreadable };
        }
        catch
        {
            opened.Reverse();
            opened.ForEach(part => part.Dispose());
            throw;
        }
    }

    /// <summary>
    /// Attaches the hooks, or gives the links an earlier daemon pinned these programs and maps: what the earlier daemon
    /// enforced is enforced until this state replaces it. Does nothing the second time.
    /// </summary>
    public void Attach()
    {
        if (!_attached)
        {
            _hook.Attach(_cgroupRoot, _pins);
            _attached = true;
        }
    }

    /// <summary>
    /// A daemon that does not enforce exclusive binds detaches what an earlier one pinned: nobody would ever update it,
    /// so its reservations would stay enforced as they were, for good. Not for a daemon that cannot (not root).
    /// </summary>
    public static void ReleaseEarlier(string? pinDirectory, string why, ILogger logger)
    {
        if (pinDirectory is null || Protocol.SocketLocations.EffectiveUid != 0 || !Directory.Exists(pinDirectory) || !Interop.Libc.IsBpfFileSystem(pinDirectory))
        {
            return;
        }

        using PinDirectory pins = PinDirectory.Open(pinDirectory);
        if (BindHook.Unpin(pins) is { Count: > 0 } removed)
        {
            DaemonLog.StalePinsReleased(logger, pinDirectory, string.Join(", ", removed), why);
        }
    }

    /// <summary>
    /// Takes back what a failed <see cref="Attach"/> did: whatever it linked or pinned goes, so that nothing stays
    /// enforced that no daemon keeps up to date.
    /// </summary>
    public void Detach()
    {
        if (_pins is not null)
        {
            BindHook.Unpin(_pins);
        }

        _hook.Dispose();
    }

    /// <summary>Moves the lease on: runtime reservations stay enforced for the restart grace from now.</summary>
    public void Renew() => Maps.SetLease(Lease(_restartGrace));

    public void Dispose()
    {
        // Pinned links stay attached, with their maps: enforcement outlives the daemon. Unpinned ones detach here.
        _hook.Dispose();
        Maps.Dispose();
        _cgroupRoot.Dispose();
        _pins?.Dispose();
    }

    /// <summary>The hook's clock (CLOCK_MONOTONIC, in nanoseconds) <paramref name="grace"/> from now.</summary>
    /// <summary>
    /// Why the runtime reservations an earlier daemon left are no longer enforced, when its lease on them ran out before
    /// this start (its hooks then let anyone bind their ports); null while the lease holds.
    /// </summary>
    private static string? LeaseLapsed(PinDirectory pins)
    {
        using SafeFileHandle? policies = pins.Find(BindHookMaps.PoliciesMap);
        if (policies is null)
        {
            return "the daemon before this one left no policies map, so nothing says its runtime reservations were enforced since";
        }

        if (Interop.Bpf.MapShape(policies) != (Interop.Bpf.MapTypeArray, sizeof(uint), BindHookLayout.PolicyValueSize))
        {
            throw new InvalidDataException("the pinned policies map is not one this daemon writes");
        }

        Span<byte> entry = stackalloc byte[BindHookLayout.PolicyValueSize];
        if (!Interop.Bpf.LookupElement(policies, stackalloc byte[sizeof(uint)], entry))
        {
            throw new InvalidDataException("the pinned policies map has no lease");
        }

        ulong lease = BitConverter.ToUInt64(entry[BindHookLayout.LeaseOffset..]);
        ulong now = Lease(TimeSpan.Zero);
        return lease >= now
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"the lease of the daemon before this one on its runtime reservations ran out {(now - lease) / 1_000_000_000.0:0.#} s ago (--restart-grace), and anyone may have bound their ports since");
    }

    private static ulong Lease(TimeSpan grace)
        => (ulong)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency)) + (ulong)grace.Ticks * 100;

    /// <summary>Why this daemon cannot enforce exclusive binds at all, or null.</summary>
    private static string? Unsupported()
    {
        if (Protocol.SocketLocations.EffectiveUid != 0)
        {
            return "portreserved is not running as root (a per-user daemon cannot attach bind hooks)";
        }

        // The hook knows holders by their pid in the initial pid namespace, which is what the daemon sees only there.
        // The namespace itself decides, not NSpid: that line counts the namespaces below the one /proc was mounted for,
        // so a container's own /proc shows one entry. The initial namespace's inode is fixed (PROC_PID_INIT_INO).
        if (PidNamespace() != InitialPidNamespace)
        {
            return "portreserved runs in a pid namespace, where the pids it sees are not the ones the bind hook sees";
        }

        // The lease is on the hook's clock, the machine's CLOCK_MONOTONIC: a time namespace would move the daemon's.
        const string offsets = "/proc/self/timens_offsets";
        return File.Exists(offsets) && File.ReadLines(offsets).Any(line => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) is [_, var seconds, var nanoseconds] && (seconds != "0" || nanoseconds != "0"))
            ? "portreserved runs in a time namespace, where its monotonic clock is not the bind hook's"
            : null;
    }

    private const string InitialPidNamespace = "pid:[4026531836]";

    private static string? PidNamespace()
    {
        try
        {
            return new FileInfo("/proc/self/ns/pid").LinkTarget;
        }
        catch (IOException)
        {
            // A /proc of another pid namespace has no /proc/self for this process.
            return null;
        }
    }

    private static void AllowAdministrators(BindHookMaps maps, uint? adminGroupId)
    {
        if (adminGroupId is not { } gid)
        {
            return;
        }

        maps.AddAllowed(BindHookLayout.AdministratorsPolicy, BindHookLayout.AllowGid, gid);
        foreach (uint uid in Interop.Accounts.GroupMembers(gid))
        {
            maps.AddAllowed(BindHookLayout.AdministratorsPolicy, BindHookLayout.AllowUid, uid);
        }

        if (maps.TakeFailure() is { } failure)
        {
            throw new IOException($"the bind hook's allow map did not take the administrators group {gid}: {failure.Message}", failure);
        }
    }

    private static T Keep<T>(List<IDisposable> opened, T part)
        where T : IDisposable
    {
        opened.Add(part);
        return part;
    }
}
