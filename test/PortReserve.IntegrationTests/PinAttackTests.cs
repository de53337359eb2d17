using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// The bpf pin directory is where every later daemon takes its enforcement from, so nobody but root may reach it: a
/// bpf filesystem any user may write (bpffs mounted without <c>-o mode</c> is 1777) is refused, whatever a stranger put
/// there first, and never turns exclusive binds silently off. A daemon that does not enforce exclusive binds detaches
/// what an earlier one pinned, which nobody would keep up to date.
/// </summary>
public sealed class PinAttackTests
{
    [Theory(Timeout = 60_000)]
    [InlineData("directory")]
    [InlineData("link")]
    public async Task BpfFileSystemAnyoneMayWrite_WithAStrangersEntryInPlace_IsRefusedAtStart(string planted)
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to mount bpffs and act as other uids");
        string directory = Directory.CreateTempSubdirectory("prt-pin-").FullName;
        string shared = Path.Combine(directory, "bpf");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        Assert.Equal(0, (await ChildProcess.RunAsync("mount", ["-t", "bpf", "bpf", shared])).ExitCode);
        try
        {
            // The stranger's own directory, or a link to a directory of root's outside bpffs, where the pins would go.
            string pins = Path.Combine(shared, "portreserve");
            string[] plant = planted == "directory" ? ["mkdir", pins] : ["ln", "-s", "/usr/share", pins];
            (int plantedExit, string plantedOutput) = await OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, plant[0], plant[1..], new Dictionary<string, string?>());
            Assert.True(plantedExit == 0, plantedOutput);

            (int exit, string output) = await ChildProcess.RunAsync(Artifacts.Daemon, ["--socket", Path.Combine(directory, "s"), "--state-dir", Path.Combine(directory, "state"), "--config-dir", Path.Combine(directory, "none"), "--bpf-dir", pins, "--kernel-sync", "off"]);

            Assert.True(exit == 1, output);
            Assert.Contains($"bpf pin directory {pins} lies under {shared}, which users other than root may write", output);
            Assert.Contains("-o mode=0700", output);
        }
        finally
        {
            await ChildProcess.RunAsync("umount", [shared]);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task DaemonWithExclusiveBindsOff_DetachesWhatAnEarlierOnePinned()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to attach bind hooks and bind as other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--exclusive-binds", "on");
        await using (PortReservationClient client = await daemon.ConnectAsync())
        {
            await client.CreatePersistentAsync(PortReservationProtocol.Tcp, 9213, 1, new PersistentReservationOptions(), TestContext.Current.CancellationToken).WithTimeout();
        }

        Assert.Equal(0, await daemon.StopAsync());
        string whileStopped = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, "9213", daemon.ClientEnvironment);
        await daemon.RestartAsync("--exclusive-binds", "off");
        string afterOff = await BindAttempt.AsUserAsync(OtherUser.Stranger, OtherUser.Stranger, "9213", daemon.ClientEnvironment);

        Assert.Equal("refused AccessDenied", whileStopped);
        Assert.Equal("ok", afterOff);
        Assert.Empty(Directory.GetFileSystemEntries(daemon.BpfDirectory));
    }
}
