using System.Text.RegularExpressions;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

public sealed partial class SampleTests
{
    [Theory(Timeout = 60_000)]
    [InlineData("2", "2", "17", "5000", "20", 5000, 5019)]
    [InlineData("10", "1", "6", "0", "3", 45000, 45099)]
    public async Task AcquirePortReservationSample_PrintsTheAllocatedPortFromTheBlock(string family, string type, string protocol, string start, string count, int low, int high)
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--wildcard-range", "45000-45099");

        (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Sample, [family, type, protocol, start, count], daemon.ClientEnvironment);

        Assert.True(exit == 0, output);
        Match allocated = AllocatedPort().Match(output);
        Assert.True(allocated.Success, output);
        Assert.InRange(int.Parse(allocated.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), low, high);
        Assert.Contains("ReleaseAsync (SIO_RELEASE_PORT_RESERVATION) succeeded", output);
        Assert.Matches(@"another program's unassociated socket could not bind port \d+: failed with error = 10013 \(AccessDenied\)", output);
        Assert.Equal(string.Empty, KernelList.Text);
    }

    [GeneratedRegex(@"Port number allocated = (\d+)")]
    private static partial Regex AllocatedPort();
}
