namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// What the bind hook's maps hold, shared by the program that reads them and the daemon that writes them.
/// <list type="bullet">
/// <item>Ports: an array indexed by <see cref="PortIndex"/> (TCP ports, then UDP ports); each element is a policy id,
/// 0 for a port nobody holds exclusively.</item>
/// <item>Policies: an array indexed by policy id; each element is <c>{ u32 kind; u32 tgid; u64 cgroup; u32 level; u32 pad; }</c>.
/// A runtime holder's binds are allowed to its process (tgid, 0 once that process exited) and, when set, to every process
/// in its process tree: its cgroup or one beneath it (the cgroup found at <c>level</c> among the binder's ancestors). A
/// persistent reservation's to root and to the uids and gids in the allow map. Element 0 is no policy: at
/// <see cref="ProbeCookieOffset"/> it holds the cookie of the socket the daemon is probing a port with (is it in use?),
/// which may bind any reserved port; 0 when no probe runs. At <see cref="LeaseOffset"/> it holds the lease: the
/// <c>CLOCK_MONOTONIC</c> time in nanoseconds until which runtime policies are enforced. The daemon moves it on while it
/// runs; once no daemon has for the restart grace, runtime reservations bind for anyone (persistent ones stay).</item>
/// <item>Live: a hash set of the tgids that runtime policies name, each taken out by the exit program as its process
/// exits (before the pid can be anyone else's); a policy's tgid allows a bind only while it is in the set.</item>
/// <item>Allow: a hash set of <c>{ u32 policy; u32 kind (0 uid, 1 gid, 2 process); u32 id; }</c>; policy 0 holds the
/// administrators.</item>
/// </list>
/// Both arrays are mmap-able, so the daemon updates them with plain memory stores. The kernel lays elements out at a
/// stride of the value size rounded up to 8 bytes.
/// </summary>
internal static class BindHookLayout
{
    public const int PortCount = 65536;
    public const int PortEntries = 2 * PortCount;
    public const int PortValueSize = 4;
    public const int PortStride = 8;

    // Policies belong to client connections (at most --max-connections) and persistent reservations; 1 MiB of them.
    public const int PolicyEntries = 65536;
    public const int PolicyValueSize = 24;
    public const int PolicyStride = 24;
    public const int PolicyKindOffset = 0;
    public const int PolicyTgidOffset = 4;
    public const int PolicyCgroupOffset = 8;
    public const int PolicyLevelOffset = 16;
    public const uint ProbePolicy = 0;
    public const int ProbeCookieOffset = 8;
    public const int LeaseOffset = 16;
    public const uint RuntimeHolder = 1;
    public const uint Persistent = 2;

    public const int LiveEntries = PolicyEntries;

    public const int AllowKeySize = 12;
    public const int AllowEntries = 65536;
    public const uint AllowUid = 0;
    public const uint AllowGid = 1;
    public const uint AllowProcess = 2;
    public const uint AdministratorsPolicy = 0;

    // struct bpf_sock_addr, and the protocol numbers the hook tells apart.
    public const short ContextUserPort = 24;
    public const short ContextProtocol = 36;
    // struct bpf_sock, as a post-bind program sees it: the port it holds (host order) and its protocol.
    public const short SocketSourcePort = 44;
    public const short SocketProtocol = 12;
    public const int IpProtocolTcp = 6;
    public const int IpProtocolUdp = 17;

    /// <summary>
    /// What an <c>INET4_BIND</c>/<c>INET6_BIND</c> program returns to allow a bind and waive the kernel's
    /// <c>CAP_NET_BIND_SERVICE</c> check for ports below <c>net.ipv4.ip_unprivileged_port_start</c>: 1 (allow) with
    /// <c>BPF_RET_BIND_NO_CAP_NET_BIND_SERVICE</c> (Linux 5.12).
    /// </summary>
    public const int AllowWithoutBindServiceCapability = 3;

    /// <summary><c>BPF_RB_NO_WAKEUP</c>: the daemon drains the refusal ring on its own tick, so no refused bind wakes it.</summary>
    public const int RingBufferNoWakeup = 1;

    public static int PortIndex(PortReservationProtocol protocol, int port) => (protocol == PortReservationProtocol.Udp ? PortCount : 0) + port;

    public static byte[] AllowKey(uint policy, uint kind, uint id)
    {
        byte[] key = new byte[AllowKeySize];
        BitConverter.TryWriteBytes(key, policy);
        BitConverter.TryWriteBytes(key.AsSpan(4), kind);
        BitConverter.TryWriteBytes(key.AsSpan(8), id);
        return key;
    }

    /// <summary>The (policy, kind, id) an allow map key holds (<see cref="AllowKey"/>'s inverse).</summary>
    public static (uint Policy, uint Kind, uint Id) ReadAllowKey(ReadOnlySpan<byte> key)
        => (BitConverter.ToUInt32(key), BitConverter.ToUInt32(key[4..]), BitConverter.ToUInt32(key[8..]));
}
