using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Tests.Reservations;

public sealed class TokenSourceTests
{
    [Fact]
    public void Next_AcrossManyRefills_GivesDistinctWellSpreadTokens()
    {
        var source = new TokenSource();
        ulong[] tokens = [.. Enumerable.Range(0, 10_000).Select(_ => source.Next())];

        Assert.Equal(tokens.Length, tokens.Distinct().Count());

        // Every bit position is set in roughly half the tokens: nothing stuck, nothing truncated to fewer bits.
        for (int bit = 0; bit < 64; bit++)
        {
            int ones = tokens.Count(t => ((t >> bit) & 1) != 0);
            Assert.InRange(ones, 4_500, 5_500);
        }
    }
}
