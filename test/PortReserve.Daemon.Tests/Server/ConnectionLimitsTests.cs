using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Tests.Server;

public sealed class ConnectionLimitsTests
{
    [Fact]
    public void TryOpen_PerUidLimit_RefusesThatUidOnly_AndRootIsExempt()
    {
        var limits = new ConnectionLimits(maxTotal: 100, maxPerUid: 2);

        Assert.Null(limits.TryOpen(1000, administrator: false));
        Assert.Null(limits.TryOpen(1000, administrator: false));
        Assert.Contains("--max-connections-per-uid", limits.TryOpen(1000, administrator: false));
        Assert.Null(limits.TryOpen(1001, administrator: false));
        Assert.Null(limits.TryOpen(0, administrator: true));
        Assert.Null(limits.TryOpen(0, administrator: true));
        Assert.Null(limits.TryOpen(0, administrator: true));

        limits.Closed(1000);
        Assert.Null(limits.TryOpen(1000, administrator: false));
    }

    [Fact]
    public void TryOpen_TotalLimit_RefusesOthers_ButNeverAdministrators()
    {
        var limits = new ConnectionLimits(maxTotal: 2, maxPerUid: 10);
        limits.TryOpen(1000, administrator: false);
        limits.TryOpen(1001, administrator: false);

        Assert.Contains("--max-connections", limits.TryOpen(1002, administrator: false));
        Assert.Null(limits.TryOpen(0, administrator: true));
        Assert.Null(limits.TryOpen(2000, administrator: true));
        limits.Closed(1000);
        limits.Closed(0);
        limits.Closed(2000);
        Assert.Null(limits.TryOpen(1002, administrator: false));
    }

    [Fact]
    public void TryOpen_DescriptorBudget_KeepsAShareForAdministrators_AndAReserveForTheDaemon()
    {
        var budget = new DescriptorBudget(limit: 1024 + 100, alreadyOpen: 100);
        var limits = new ConnectionLimits(maxTotal: 100_000, maxPerUid: 100_000, budget);
        int others = 0, administrators = 0;
        while (limits.TryOpen((uint)(1000 + others), administrator: false, descriptorCount: 2) is null)
        {
            others++;
        }

        while (limits.TryOpen(0, administrator: true, descriptorCount: 2) is null)
        {
            administrators++;
        }

        Assert.Equal((1024 - 128) / 2, others);
        Assert.Equal(64 / 2, administrators);
        Assert.Contains("open file limit (1124, LimitNOFILE)", limits.TryOpen(0, administrator: true));
        limits.Closed(0, descriptorCount: 2);
        Assert.Null(limits.TryOpen(0, administrator: true, descriptorCount: 2));
    }
}
