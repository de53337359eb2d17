using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Kernel;

public sealed class KernelPortListTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("\n", "")]
    [InlineData("8080", "8080")]
    [InlineData("1000-1005,2000\n", "1000-1005,2000")]
    [InlineData("5,3,4,1-2", "1-5")]
    public void Parse_ThenFormat_NormalisesTheList(string text, string expected)
    {
        Assert.Equal(expected, KernelPortList.Format(KernelPortList.Parse(text)));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("70000")]
    [InlineData("10-5")]
    [InlineData("1-2-3")]
    [InlineData("-5")]
    public void Parse_Garbage_ThrowsFormatException(string text)
    {
        Assert.Throws<FormatException>(() => KernelPortList.Parse(text));
    }

    [Fact]
    public void FormatChunks_ManyEntries_SplitsOnEntryBoundariesUnderTheKernelLimit()
    {
        var ports = new PortSet();
        for (int port = 10000; port < 40000; port += 3)
        {
            ports.Add(new PortRange(port, 1));
        }

        byte[] buffer = new byte[16];
        var chunkEnds = new List<int>();
        KernelPortList.FormatChunks(ports, ref buffer, chunkEnds);

        Assert.True(chunkEnds.Count > 1);
        string[] chunks = [.. chunkEnds.Select((end, i) => System.Text.Encoding.ASCII.GetString(buffer, i == 0 ? 0 : chunkEnds[i - 1], end - (i == 0 ? 0 : chunkEnds[i - 1])))];
        Assert.All(chunks, c => Assert.True(c.Length <= KernelPortList.MaxChunkBytes + 1));
        Assert.All(chunks, c => Assert.False(c.StartsWith(',') || c.TrimEnd('\n').EndsWith(',')));
        Assert.True(KernelPortList.Parse(string.Join(',', chunks.Select(c => c.Trim()))).SetEquals(ports));
    }

    [Fact]
    public void FormatChunks_ReusedBuffer_FormatsOnlyTheNewList()
    {
        byte[] buffer = new byte[4];
        var chunkEnds = new List<int>();
        KernelPortList.FormatChunks(KernelPortList.Parse("1-100,200,300-301"), ref buffer, chunkEnds);
        KernelPortList.FormatChunks(KernelPortList.Parse("7"), ref buffer, chunkEnds);

        Assert.Equal([2], chunkEnds);
        Assert.Equal("7\n", System.Text.Encoding.ASCII.GetString(buffer, 0, 2));
    }
}
