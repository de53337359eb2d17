using System.IO.Compression;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>./install.sh into a staging prefix produces programs that run, a unit that starts them, and the package.</summary>
public sealed class InstallTests
{
    [Fact(Timeout = 600_000)]
    public async Task InstallSh_IntoATemporaryPrefix_GivesWorkingProgramsUnitAndPackage()
    {
        string prefix = Directory.CreateTempSubdirectory("prt-install-").FullName;
        try
        {
            // install.sh builds (ReadyToRun) before it installs: minutes on a fresh clone.
            (int exit, string output) = await ChildProcess.RunAsync(Path.Combine(Artifacts.Root, "install.sh"), ["--prefix", prefix, "--sysconfdir", Path.Combine(prefix, "etc"), "--skip-group"], timeout: TimeSpan.FromMinutes(9));
            Assert.True(exit == 0, output);
            Assert.Contains("systemctl enable --now portreserved", output);

            string unit = await File.ReadAllTextAsync(Path.Combine(prefix, "lib/systemd/system/portreserved.service"), TestContext.Current.CancellationToken);
            Assert.Contains($"ExecStart={prefix}/bin/portreserved ", unit);
            Assert.Contains("Type=notify", unit);
            Assert.Contains($"ExecReload={prefix}/bin/portreserve reload ", unit);

            // The administrator's reservations.d with an example that is valid and declares nothing until edited.
            string example = Path.Combine(prefix, "etc/portreserve/reservations.d/example.conf");
            (int checkExit, string check) = await ChildProcess.RunAsync(Path.Combine(prefix, "bin/portreserve"), ["check", example]);
            Assert.True(checkExit == 0, check);
            Assert.Equal("0 reservations in 1 file: no problems", check.Trim());

            await using DaemonProcess daemon = await DaemonProcess.StartInstalledAsync(Path.Combine(prefix, "bin/portreserved"));
            (int statusExit, string status) = await ChildProcess.RunAsync(Path.Combine(prefix, "bin/portreserve"), ["status", "--socket", daemon.SocketPath]);
            (int runExit, string run) = await ChildProcess.RunAsync(Path.Combine(prefix, "bin/portreserve"), ["run", "--socket", daemon.SocketPath, "--udp", "2", "--", "sh", "-c", "echo $PORTRESERVE_UDP"]);
            Assert.True(statusExit == 0, status);
            Assert.True(runExit == 0, run);
            Assert.Matches(@"^\d+-\d+\s*$", run);

            string package = Assert.Single(Directory.GetFiles(Path.Combine(prefix, "share/portreserve/packages"), "PortReserve.*.nupkg"), p => !p.EndsWith(".snupkg", StringComparison.Ordinal) && !p.Contains("PortReserve.AspNetCore.", StringComparison.Ordinal));
            using ZipArchive archive = ZipFile.OpenRead(package);
            string[] entries = [.. archive.Entries.Select(e => e.FullName)];
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);
            Assert.Contains("lib/net10.0/PortReserve.dll", entries);
            Assert.Contains("lib/net10.0/PortReserve.xml", entries);

            string aspNetCore = Assert.Single(Directory.GetFiles(Path.Combine(prefix, "share/portreserve/packages"), "PortReserve.AspNetCore.*.nupkg"), p => !p.EndsWith(".snupkg", StringComparison.Ordinal));
            using ZipArchive aspNetCoreArchive = ZipFile.OpenRead(aspNetCore);
            string[] aspNetCoreEntries = [.. aspNetCoreArchive.Entries.Select(e => e.FullName)];
            Assert.Contains("README.md", aspNetCoreEntries);
            Assert.Contains("LICENSE", aspNetCoreEntries);
            Assert.Contains("lib/net10.0/PortReserve.AspNetCore.dll", aspNetCoreEntries);
            Assert.Contains("lib/net10.0/PortReserve.AspNetCore.xml", aspNetCoreEntries);
        }
        finally
        {
            Directory.Delete(prefix, recursive: true);
        }
    }
}
