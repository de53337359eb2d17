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

        List<byte[]> chunks = KernelPortList.FormatChunks(ports);

        Assert.True(chunks.Count > 1);
        Assert.All(chunks, c => Assert.True(c.Length <= KernelPortList.MaxChunkBytes + 1));
        string joined = string.Join(',', chunks.Select(c => System.Text.Encoding.ASCII.GetString(c).Trim()));
        Assert.True(KernelPortList.Parse(joined).SetEquals(ports));
    }
}
