using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

public sealed class PortSetTests
{
    [Fact]
    public void Ranges_AfterAddsAcrossWordBoundaries_ReturnsMergedRuns()
    {
        var set = new PortSet();
        set.Add(new PortRange(60, 10));
        set.Add(new PortRange(70, 1));
        set.Add(new PortRange(65530, 6));
        set.Add(new PortRange(1, 1));

        Assert.Equal(["1", "60-70", "65530-65535"], set.Ranges().Select(r => r.ToString()));
    }

    [Fact]
    public void Remove_MiddleOfRun_SplitsIt()
    {
        var set = new PortSet();
        set.Add(new PortRange(100, 200));
        set.Remove(new PortRange(150, 10));

        Assert.Equal(["100-149", "160-299"], set.Ranges().Select(r => r.ToString()));
        Assert.False(set.Contains(155));
        Assert.True(set.Contains(160));
    }

    [Fact]
    public void NextClearAndNextSet_OverUnionOfTwoSets_SkipWholeWords()
    {
        var a = new PortSet();
        var b = new PortSet();
        a.Add(PortRange.FromBounds(1000, 1999));
        b.Add(PortRange.FromBounds(2000, 2100));

        Assert.Equal(2101, PortSet.NextClear(a, b, 1000, 5000));
        Assert.Equal(1000, PortSet.NextSet(a, b, 0, 5000));
        Assert.Equal(5001, PortSet.NextSet(a, b, 2101, 5000));
        Assert.Equal(-1, PortSet.NextClear(a, b, 1000, 2100));
    }

    [Fact]
    public void IntersectWith_KeepsOnlyPortsInBoth()
    {
        var a = new PortSet();
        var b = new PortSet();
        a.Add(PortRange.FromBounds(100, 300));
        b.Add(PortRange.FromBounds(250, 400));
        b.Add(new PortRange(5, 1));

        a.IntersectWith(b);

        Assert.Equal(["250-300"], a.Ranges().Select(r => r.ToString()));
    }

    [Fact]
    public void FullSet_RangesIsOneRunAndSupersetHolds()
    {
        var all = new PortSet();
        all.Add(new PortRange(0, 65536));
        var some = new PortSet();
        some.Add(new PortRange(5, 5));

        Assert.Equal(["0-65535"], all.Ranges().Select(r => r.ToString()));
        Assert.True(all.IsSupersetOf(some));
        Assert.False(some.IsSupersetOf(all));
    }
}
