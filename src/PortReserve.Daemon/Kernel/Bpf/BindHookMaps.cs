using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// The bind hook's three maps (<see cref="BindHookLayout"/>). The port and policy arrays are mapped into the daemon, so
/// setting a port or a policy is a memory store the hook sees at once, with no system call; the allow set is a hash
/// map updated with bpf(2). Writers order their stores so that the hook never finds a port pointing at a policy that is
/// not written yet: a policy before the ports that name it, and the ports cleared before the policy.
/// </summary>
/// <remarks>
/// A write to a hash map that the kernel refuses (ENOMEM, a full map) does not throw: the writer goes on, so that its own
/// record of what the maps should hold stays whole, and the first failure waits in <see cref="TakeFailure"/>. The writer
/// then rewrites the hash maps whole (<see cref="KeepOnly"/> and the writes again) until a round succeeds.
/// </remarks>
internal sealed unsafe class BindHookMaps : IDisposable
{
    private const nuint PortsLength = (nuint)(BindHookLayout.PortEntries * BindHookLayout.PortStride);
    private const nuint PoliciesLength = (nuint)(BindHookLayout.PolicyEntries * BindHookLayout.PolicyStride);
    private static readonly byte[] s_present = [1];

    private readonly nint _ports;
    private readonly nint _policies;
    private IOException? _failure;

    private BindHookMaps(SafeFileHandle ports, SafeFileHandle policies, SafeFileHandle allow, SafeFileHandle live, SafeFileHandle runtime, RefusalRing refusals)
    {
        Ports = ports;
        Policies = policies;
        Allow = allow;
        Live = live;
        Runtime = runtime;
        Refusals = refusals;
        _ports = Interop.Bpf.Map(ports, PortsLength);
        _policies = Interop.Bpf.Map(policies, PoliciesLength);

        // Enforced until told otherwise: whoever runs the hook sets the lease it renews.
        SetLease(ulong.MaxValue);
    }

    public SafeFileHandle Ports { get; }

    public SafeFileHandle Policies { get; }

    public SafeFileHandle Allow { get; }

    public SafeFileHandle Live { get; }

    /// <summary>The runtime reservations by token (<see cref="RuntimeRecord"/>), for the daemon after this one; the hook never reads it.</summary>
    public SafeFileHandle Runtime { get; }

    /// <summary>Where the hook reports the binds it refuses; the daemon's own, never pinned.</summary>
    public RefusalRing Refusals { get; }

    /// <summary>The names the maps are pinned under, in <see cref="Pin"/>'s order.</summary>
    public static readonly string[] PinNames = ["ports", PoliciesMap, "allow", "live", RuntimeMap];

    public const string PoliciesMap = "policies";

    public const string RuntimeMap = "runtime";

    // One per runtime reservation, which per-uid quotas bound; allocated as used (BPF_F_NO_PREALLOC).
    private const int RuntimeEntries = 1 << 18;

    public static BindHookMaps Create()
    {
        var opened = new List<SafeFileHandle>();
        try
        {
            SafeFileHandle ports = Keep(opened, Interop.Bpf.CreateMap(Interop.Bpf.MapTypeArray, 4, BindHookLayout.PortValueSize, BindHookLayout.PortEntries, Interop.Bpf.MapFlagMmapable, "pr_ports"));
            SafeFileHandle policies = Keep(opened, Interop.Bpf.CreateMap(Interop.Bpf.MapTypeArray, 4, BindHookLayout.PolicyValueSize, BindHookLayout.PolicyEntries, Interop.Bpf.MapFlagMmapable, "pr_policies"));
            SafeFileHandle allow = Keep(opened, Interop.Bpf.CreateMap(Interop.Bpf.MapTypeHash, BindHookLayout.AllowKeySize, 1, BindHookLayout.AllowEntries, 0, "pr_allow"));
            SafeFileHandle live = Keep(opened, Interop.Bpf.CreateMap(Interop.Bpf.MapTypeHash, 4, 1, BindHookLayout.LiveEntries, 0, "pr_live"));
            SafeFileHandle runtime = Keep(opened, Interop.Bpf.CreateMap(Interop.Bpf.MapTypeHash, RuntimeRecord.KeySize, RuntimeRecord.ValueSize, RuntimeEntries, Interop.Bpf.MapFlagNoPrealloc, "pr_runtime"));
            return new BindHookMaps(ports, policies, allow, live, runtime, RefusalRing.Create());
        }
        catch
        {
            opened.ForEach(handle => handle.Dispose());
            throw;
        }
    }

    public void SetPort(PortReservationProtocol protocol, int port, uint policy)
        => Volatile.Write(ref *(uint*)(_ports + (BindHookLayout.PortIndex(protocol, port) * BindHookLayout.PortStride)), policy);

    /// <summary>Points every port of <paramref name="block"/> at <paramref name="policy"/> (0: none).</summary>
    public void SetPorts(PortBlock block, uint policy)
    {
        for (int port = block.Range.Start; port <= block.Range.End; port++)
        {
            SetPort(block.Protocol, port, policy);
        }
    }

    /// <summary>Points every port at the policy of the block holding it in <paramref name="blocks"/>, and every other at none; writes only what differs.</summary>
    public void SetAllPorts(IEnumerable<(PortBlock Block, uint Policy)> blocks)
    {
        uint[] wanted = new uint[BindHookLayout.PortEntries];
        foreach ((PortBlock block, uint policy) in blocks)
        {
            for (int port = block.Range.Start; port <= block.Range.End; port++)
            {
                wanted[BindHookLayout.PortIndex(block.Protocol, port)] = policy;
            }
        }

        for (int index = 0; index < wanted.Length; index++)
        {
            ref uint entry = ref *(uint*)(_ports + (index * BindHookLayout.PortStride));
            if (Volatile.Read(ref entry) != wanted[index])
            {
                Volatile.Write(ref entry, wanted[index]);
            }
        }
    }

    public uint GetPort(PortReservationProtocol protocol, int port)
        => Volatile.Read(ref *(uint*)(_ports + (BindHookLayout.PortIndex(protocol, port) * BindHookLayout.PortStride)));

    /// <summary>
    /// Writes a policy; its kind goes last, so a hook reading it meanwhile sees either nothing or all of it. A tree's
    /// level goes before its cgroup, so a hook that finds the cgroup finds the level it lies at.
    /// </summary>
    public void SetPolicy(uint id, uint kind, uint tgid, ProcessTree tree = default)
    {
        byte* entry = Entry(id);
        Volatile.Write(ref *(uint*)(entry + BindHookLayout.PolicyTgidOffset), tgid);
        Volatile.Write(ref *(uint*)(entry + BindHookLayout.PolicyLevelOffset), (uint)tree.Level);
        Volatile.Write(ref *(ulong*)(entry + BindHookLayout.PolicyCgroupOffset), tree.CgroupId);
        Volatile.Write(ref *(uint*)(entry + BindHookLayout.PolicyKindOffset), kind);
    }

    public void ClearPolicy(uint id) => SetPolicy(id, 0, 0);

    /// <summary>Lets the socket with <paramref name="cookie"/> (the daemon's probe) bind any reserved port; 0 lets none.</summary>
    public void SetProbe(ulong cookie) => Volatile.Write(ref *(ulong*)(_policies + BindHookLayout.ProbeCookieOffset), cookie);

    /// <summary>Runtime policies are enforced until <paramref name="monotonicNanoseconds"/> (<c>CLOCK_MONOTONIC</c>, as the hook reads it).</summary>
    public void SetLease(ulong monotonicNanoseconds) => Volatile.Write(ref *(ulong*)(_policies + BindHookLayout.LeaseOffset), monotonicNanoseconds);

    /// <summary>For tests of the writer's recovery: asked before each hash map write (named "allow", "live" or "runtime"); true makes the write fail as a refusing kernel's would.</summary>
    internal Func<string, bool>? InjectFailure { get; set; }

    /// <summary>The first hash map write refused since the last call, or null; the maps no longer hold all that was written.</summary>
    public IOException? TakeFailure()
    {
        IOException? failure = _failure;
        _failure = null;
        return failure;
    }

    public bool AddAllowed(uint policy, uint kind, uint id) => Try("allow", () => Interop.Bpf.UpdateElement(Allow, BindHookLayout.AllowKey(policy, kind, id), s_present));

    public bool RemoveAllowed(uint policy, uint kind, uint id) => Try("allow", () => Interop.Bpf.DeleteElement(Allow, BindHookLayout.AllowKey(policy, kind, id)));

    /// <summary>A tgid a runtime policy names is live: the hook honours the policy's tgid until the exit program takes it out.</summary>
    public bool AddLive(uint tgid) => Try("live", () => Interop.Bpf.UpdateElement(Live, BitConverter.GetBytes(tgid), s_present));

    public bool IsLive(uint tgid) => Interop.Bpf.ContainsElement(Live, BitConverter.GetBytes(tgid), 1);

    /// <summary>No policy names the tgid any more (it may be gone already: its process exited).</summary>
    public bool RemoveLive(uint tgid) => Try("live", () => Interop.Bpf.DeleteElement(Live, BitConverter.GetBytes(tgid)));

    /// <summary>Deletes every key of the hash map <paramref name="map"/> that <paramref name="wanted"/> does not keep.</summary>
    public void KeepOnly(SafeFileHandle map, int keySize, Func<byte[], bool> wanted)
    {
        string name = map == Allow ? "allow" : map == Live ? "live" : "runtime";
        foreach (byte[] unwanted in Keys(map, keySize).Where(key => !wanted(key)))
        {
            Try(name, () => Interop.Bpf.DeleteElement(map, unwanted));
        }
    }

    /// <summary>Pins the maps in <paramref name="pins"/> (in place of an earlier daemon's), where a daemon started later finds them.</summary>
    public void Pin(PinDirectory? pins)
    {
        if (pins is null)
        {
            return;
        }

        SafeFileHandle[] maps = [Ports, Policies, Allow, Live, Runtime];
        for (int i = 0; i < maps.Length; i++)
        {
            pins.Replace(PinNames[i], maps[i]);
        }
    }

    public void Dispose()
    {
        Interop.Bpf.Unmap(_ports, PortsLength);
        Interop.Bpf.Unmap(_policies, PoliciesLength);
        Ports.Dispose();
        Policies.Dispose();
        Allow.Dispose();
        Live.Dispose();
        Runtime.Dispose();
        Refusals.Dispose();
    }

    /// <summary>Records a runtime reservation (again, when its holder's tree changed) for the daemon after this one.</summary>
    public bool SetRecord(RuntimeRecord record)
    {
        byte[] key = new byte[RuntimeRecord.KeySize];
        byte[] value = new byte[RuntimeRecord.ValueSize];
        record.Write(key, value);
        return Try("runtime", () => Interop.Bpf.UpdateElement(Runtime, key, value));
    }

    public bool DeleteRecord(ulong token) => Try("runtime", () => Interop.Bpf.DeleteElement(Runtime, BitConverter.GetBytes(token)));

    /// <summary>
    /// Every record of a runtime map (an earlier daemon's, found pinned), skipping those it cannot read. Throws
    /// <see cref="InvalidDataException"/> when what is pinned under the name is not a runtime map of this format.
    /// </summary>
    public static List<RuntimeRecord> ReadRecords(SafeFileHandle runtime)
    {
        (int Type, int KeySize, int ValueSize)? shape = Interop.Bpf.MapShape(runtime);
        if (shape != (Interop.Bpf.MapTypeHash, RuntimeRecord.KeySize, RuntimeRecord.ValueSize))
        {
            throw new InvalidDataException(shape is { } found
                ? $"the pinned {RuntimeMap} map is not one this daemon writes (type {found.Type}, keys of {found.KeySize} bytes, values of {found.ValueSize})"
                : $"what is pinned as {RuntimeMap} is not a map");
        }

        return [.. Entries(runtime, RuntimeRecord.KeySize, RuntimeRecord.ValueSize).Select(entry => RuntimeRecord.Read(entry.Key, entry.Value)).OfType<RuntimeRecord>()];
    }

    /// <summary>Every key of a hash map, read before anything is done with them (a walk restarts when its current key goes).</summary>
    public static List<byte[]> Keys(SafeFileHandle map, int keySize)
    {
        var keys = new List<byte[]>();
        byte[] previous = [];
        byte[] key = new byte[keySize];
        while (Interop.Bpf.NextKey(map, previous, key))
        {
            keys.Add(key);
            previous = key;
            key = new byte[keySize];
        }

        return keys;
    }

    /// <summary>Every key of a hash map with its value (one deleted meanwhile is left out).</summary>
    public static List<(byte[] Key, byte[] Value)> Entries(SafeFileHandle map, int keySize, int valueSize)
    {
        var entries = new List<(byte[] Key, byte[] Value)>();
        foreach (byte[] key in Keys(map, keySize))
        {
            byte[] value = new byte[valueSize];
            if (Interop.Bpf.LookupElement(map, key, value))
            {
                entries.Add((key, value));
            }
        }

        return entries;
    }

    /// <summary>A policy's bytes as the hook reads them, for comparing two sets of maps.</summary>
    internal byte[] PolicyBytes(uint id) => new ReadOnlySpan<byte>(Entry(id), BindHookLayout.PolicyStride).ToArray();

    /// <summary>One hash map write: false, with the failure kept for <see cref="TakeFailure"/>, when the kernel refused it.</summary>
    private bool Try(string map, Action write)
    {
        try
        {
            if (InjectFailure?.Invoke(map) == true)
            {
                throw new IOException($"the {map} map refused a write (injected)");
            }

            write();
            return true;
        }
        catch (IOException e)
        {
            _failure ??= e;
            return false;
        }
    }

    private static SafeFileHandle Keep(List<SafeFileHandle> opened, SafeFileHandle handle)
    {
        opened.Add(handle);
        return handle;
    }

    private byte* Entry(uint id)
        => id is > 0 and < BindHookLayout.PolicyEntries
            ? (byte*)(_policies + (nint)(id * BindHookLayout.PolicyStride))
            : throw new ArgumentOutOfRangeException(nameof(id), id, "not a policy id");
}
