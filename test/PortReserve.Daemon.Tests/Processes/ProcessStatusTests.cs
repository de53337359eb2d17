using System.Diagnostics;
using System.Globalization;
using PortReserve.Daemon.Processes;

namespace PortReserve.Daemon.Tests.Processes;

public sealed class ProcessStatusTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ReadIds_OfAProcess_AreItsRealIdsAndGroups_AsIdSaysThem()
    {
        using Process child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            (uint? Uid, uint? Gid, uint[] Groups)? read = ProcessStatus.ReadIds(child.Id);

            uint[] expected = await IdAsync("-G");
            Assert.NotNull(read);
            Assert.Equal((await IdAsync("-ru"))[0], read.Value.Uid);
            Assert.Equal((await IdAsync("-rg"))[0], read.Value.Gid);
            Assert.Equal(expected.Where(g => g != read.Value.Gid).Order(), read.Value.Groups.Where(g => g != read.Value.Gid).Order());
        }
        finally
        {
            child.Kill();
            await child.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task ReadIds_OfAProcessThatIsGone_IsNull()
    {
        using Process child = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await child.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Null(ProcessStatus.ReadIds(child.Id));
    }

    /// <summary>What id(1) says of this process's user with <paramref name="options"/>: the ids, in its order.</summary>
    private static async Task<uint[]> IdAsync(string options)
    {
        using Process id = Process.Start(new ProcessStartInfo("id", options) { UseShellExecute = false, RedirectStandardOutput = true })!;
        string output = await id.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        await id.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        return [.. output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(field => uint.Parse(field, CultureInfo.InvariantCulture))];
    }
}
