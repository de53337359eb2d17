using Microsoft.Extensions.Logging;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Kernel;

/// <summary>
/// Tells the operator about the binds the hook refused (<see cref="RefusalRing"/>): a log line for each, naming the port,
/// the process and uid that tried, and the reservation that refused it; a count by protocol; and the last few, for
/// status. The lines draw on the binder's uid's share (<see cref="Server.RequestAudit"/>: 20 every 10 s, then one line
/// counting the rest), so a process that binds in a loop cannot flood the log, nor keep another user's lines out.
/// </summary>
internal sealed class RefusedBindReporter(Func<PortReservationProtocol, int, string?> describeHolder, Metrics.DaemonCounters counters, Server.RequestAudit audit, ILogger logger)
{
    public const int Kept = 5;

    private readonly Queue<string> _recent = new();
    private long _count;

    /// <summary>Every refused bind reported since the start.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>The last refused binds, oldest first, as the log told them.</summary>
    public IReadOnlyList<string> Recent
    {
        get
        {
            lock (_recent)
            {
                return [.. _recent];
            }
        }
    }

    public void Report(RefusedBind refused)
    {
        counters.OnBindRefused(refused.Protocol);
        Interlocked.Increment(ref _count);
        string protocol = refused.Protocol == PortReservationProtocol.Tcp ? "TCP" : "UDP";
        lock (_recent)
        {
            if (_recent.Count == Kept)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue($"{protocol} port {refused.Port} by pid {refused.Pid} ({refused.Command}) uid {refused.Uid}");
        }

        // The reservation is looked up only for a line that is logged: a flood costs no table scans.
        if (audit.MayLogRefusedBind(refused.Uid))
        {
            string holder = describeHolder(refused.Protocol, refused.Port) is { } reservation ? $"the port is in the {reservation}" : "the port was reserved when it tried";
            DaemonLog.BindRefused(logger, protocol, refused.Port, refused.Pid, refused.Command, refused.Uid, holder);
        }
    }

    /// <summary>How the log names the reservation that holds <paramref name="port"/>, or null when none does any more.</summary>
    public static string? Holder(IReservationView table, PortReservationProtocol protocol, int port)
        => table.Reservations.FirstOrDefault(r => r.Block.Protocol == protocol && r.Block.Range.Start <= port && port <= r.Block.Range.End)?.Describe();
}
