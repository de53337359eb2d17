using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Benchmarks;

/// <summary>
/// What the daemon spends to make a runtime reservation survive its own crash: each acquire writes the reservation's
/// record into the pinned runtime map (one BPF_MAP_UPDATE_ELEM) before it is granted, and each release deletes it (one
/// BPF_MAP_DELETE_ELEM). Measured in this thread's CPU time with the daemon's own map code, on a map that already holds
/// a thousand records, as the daemon's does under load.
/// </summary>
internal static class RecordBenchmark
{
    public static double CpuPerPair(int pairs)
    {
        using BindHookMaps maps = BindHookMaps.Create();
        var owner = new ReservationOwner(HolderId.Connection(1), new Principal(Pid: 4_242, ProcessId: 4_242, Uid: 1000, Gid: 1000, Groups: [1000], IsAdministrator: false));
        for (ulong token = 1; token <= 1000; token++)
        {
            maps.SetRecord(new RuntimeRecord(token, new PortBlock(PortReservationProtocol.Tcp, 40_000, 1), owner, default));
        }

        var timed = new RuntimeRecord(ulong.MaxValue, new PortBlock(PortReservationProtocol.Tcp, 41_000, 1), owner, default);
        return ThreadCpuTime.PerCall(pairs, () =>
        {
            maps.SetRecord(timed);
            maps.DeleteRecord(timed.Token);
        });
    }
}
