using System.Text;
using PortReserve.Daemon.Compat;

namespace PortReserve.Daemon.Tests.Compat;

public sealed class PortServerRequestTests
{
    [Theory]
    [InlineData("1234\n", 1234)]
    [InlineData("1234", 1234)]
    [InlineData("-5\n", -5)]
    [InlineData("0", 0)]
    [InlineData("1234\r\n", 1234)]
    [InlineData(" 42 \n", 42)]
    public void ParsePid_DecimalWithOptionalNewline_ReturnsIt(string request, int expected)
    {
        Assert.Equal(expected, PortServerListener.ParsePid(Encoding.ASCII.GetBytes(request)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("abc\n")]
    [InlineData("12 34\n")]
    [InlineData("1234\n5678\n")]
    [InlineData("99999999999\n")]
    public void ParsePid_AnythingElse_IsNull(string request)
    {
        Assert.Null(PortServerListener.ParsePid(Encoding.ASCII.GetBytes(request)));
    }
}
