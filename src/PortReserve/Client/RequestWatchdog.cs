namespace PortReserve.Client;

/// <summary>
/// Fails the requests of a connection that the daemon did not answer within the request timeout. One timer per
/// connection, running only while requests wait, at a quarter of the timeout (at most a second): a request costs no
/// timer of its own, and gives up within a quarter of the timeout after its deadline.
/// </summary>
internal sealed class RequestWatchdog : IAsyncDisposable
{
    private readonly Timer? _timer;
    private readonly TimeSpan _period;
    private readonly Func<long, bool> _timeOut;
    private int _armed;

    /// <param name="timeout">The request timeout; <see cref="Timeout.InfiniteTimeSpan"/> for none (the watchdog then never runs).</param>
    /// <param name="timeOut">Fails the requests past their deadline at the given time (Environment.TickCount64); returns whether any still waits.</param>
    public RequestWatchdog(TimeSpan timeout, Func<long, bool> timeOut)
    {
        _timeOut = timeOut;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 1, 1000));
            _timer = new Timer(static state => ((RequestWatchdog)state!).Tick(), this, Timeout.Infinite, Timeout.Infinite);
        }
    }

    /// <summary>A request waits: the watchdog runs, if it does not already.</summary>
    public void Arm()
    {
        if (_timer is not null && Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            _timer.Change(_period, Timeout.InfiniteTimeSpan);
        }
    }

    public ValueTask DisposeAsync() => _timer?.DisposeAsync() ?? ValueTask.CompletedTask;

    private void Tick()
    {
        // Disarmed before the round: a request that comes during it arms the watchdog itself, or is seen by the round.
        Volatile.Write(ref _armed, 0);
        if (_timeOut(Environment.TickCount64))
        {
            Arm();
        }
    }
}
