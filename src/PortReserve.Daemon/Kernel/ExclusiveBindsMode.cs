namespace PortReserve.Daemon.Kernel;

/// <summary>Whether the daemon refuses binds to reserved ports by anyone but their holders (cgroup bind hooks).</summary>
internal enum ExclusiveBindsMode
{
    /// <summary>On when this kernel and this daemon can attach the hooks; otherwise off with one warning.</summary>
    Auto,

    /// <summary>Required: the daemon refuses to start without them.</summary>
    On,

    /// <summary>Never: reservations keep only the kernel's automatic port choices away.</summary>
    Off,
}
