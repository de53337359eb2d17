using PortReserve.Cli;

namespace PortReserve.Cli.Tests;

public sealed class BlockArgumentTests
{
    [Theory]
    [InlineData("--tcp", "3", PortReservationProtocol.Tcp, 0, 3)]
    [InlineData("--udp", "20", PortReservationProtocol.Udp, 0, 20)]
    [InlineData("--tcp-at", "8080:1", PortReservationProtocol.Tcp, 8080, 1)]
    [InlineData("--udp-at", "5000:20", PortReservationProtocol.Udp, 5000, 20)]
    public void Parse_Valid_ReturnsBlock(string option, string value, PortReservationProtocol protocol, int start, int count)
    {
        Assert.Equal(new BlockArgument(protocol, start, count), BlockArgument.Parse(option, value, out _));
    }

    [Theory]
    [InlineData("--tcp", "0")]
    [InlineData("--tcp", "x")]
    [InlineData("--tcp", "1:2")]
    [InlineData("--tcp-at", "8080")]
    [InlineData("--udp-at", "65535:2")]
    [InlineData("--udp-at", "0:2")]
    public void Parse_Invalid_ReturnsNullWithMessage(string option, string value)
    {
        Assert.Null(BlockArgument.Parse(option, value, out string? error));
        Assert.Contains(option, error);
    }
}
