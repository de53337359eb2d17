namespace PortReserve.Daemon.Kernel;

/// <summary>Whether the daemon mirrors its table into the kernel's reserved port list.</summary>
internal enum KernelSyncMode
{
    /// <summary>On when the list is writable; otherwise off with one warning.</summary>
    Auto,

    /// <summary>Required: the daemon refuses to start when it cannot write the list.</summary>
    On,

    /// <summary>Never write the list (system exclusions are still read and honoured).</summary>
    Off,
}
