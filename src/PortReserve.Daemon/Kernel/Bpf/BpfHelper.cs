namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>The kernel helpers the bind hook calls, by their numbers in <c>&lt;linux/bpf.h&gt;</c>.</summary>
internal enum BpfHelper
{
    MapLookupElement = 1,
    MapUpdateElement = 2,
    MapDeleteElement = 3,
    KtimeGetNs = 5,
    GetCurrentPidTgid = 14,
    GetCurrentUidGid = 15,
    GetCurrentComm = 16,
    GetSocketCookie = 46,
    GetCurrentCgroupId = 80,
    GetCurrentAncestorCgroupId = 123,
    GetNetnsCookie = 122,
    RingBufferOutput = 130,
    SetReturnValue = 187,
}
