using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Tests.Server;

public sealed class ConnectionLimitsTests
{
    [Fact]
    public void TryOpen_PerUidLimit_RefusesThatUidOnly_AndRootIsExempt()
    {
        var limits = new ConnectionLimits(maxTotal: 100, maxPerUid: 2);

        Assert.Null(limits.TryOpen(1000));
        Assert.Null(limits.TryOpen(1000));
        Assert.Contains("--max-connections-per-uid", limits.TryOpen(1000));
        Assert.Null(limits.TryOpen(1001));
        Assert.Null(limits.TryOpen(0));
        Assert.Null(limits.TryOpen(0));
        Assert.Null(limits.TryOpen(0));

        limits.Closed(1000);
        Assert.Null(limits.TryOpen(1000));
    }

    [Fact]
    public void TryOpen_TotalLimit_RefusesEveryone()
    {
        var limits = new ConnectionLimits(maxTotal: 2, maxPerUid: 10);
        limits.TryOpen(0);
        limits.TryOpen(1000);

        Assert.Contains("--max-connections", limits.TryOpen(0));
        limits.Closed(0);
        Assert.Null(limits.TryOpen(0));
    }
}
