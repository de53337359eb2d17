using System.IO.Compression;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>./install.sh into a staging prefix produces programs that run, a unit that starts them, and the package.</summary>
public sealed class InstallTests
{
    [Fact(Timeout = 30_000)]
    public async Task InstallShHelp_IsItsUsage_NotItsCode()
    {
        (int exit, string output) = await ChildProcess.RunAsync(Path.Combine(Artifacts.Root, "install.sh"), ["--help"]);

        Assert.Equal(0, exit);
        Assert.StartsWith("Installs PortReserve", output, StringComparison.Ordinal);
        Assert.Contains("--uninstall", output);
        Assert.DoesNotContain("set -", output);
        Assert.DoesNotContain("#", output);
    }

    [Fact(Timeout = 600_000)]
    public async Task InstallSh_IntoATemporaryPrefix_GivesWorkingProgramsUnitAndPackage()
    {
        string prefix = Directory.CreateTempSubdirectory("prt-install-").FullName;
        try
        {
            // install.sh builds (ReadyToRun) before it installs: minutes on a fresh clone.
            // A staging prefix keeps the configuration under itself, without --sysconfdir, and its unit reads it there.
            (int exit, string output) = await ChildProcess.RunAsync(Path.Combine(Artifacts.Root, "install.sh"), ["--prefix", prefix, "--skip-group"], timeout: TimeSpan.FromMinutes(9));
            Assert.True(exit == 0, output);
            Assert.Contains($"sudo systemctl link {prefix}/lib/systemd/system/portreserved.service", output);
            Assert.Contains("systemctl enable --now portreserved", output);
            Assert.Contains($"./install.sh --uninstall --prefix {prefix}", output);

            string unit = await File.ReadAllTextAsync(Path.Combine(prefix, "lib/systemd/system/portreserved.service"), TestContext.Current.CancellationToken);
            Assert.Contains($"ExecStart={prefix}/bin/portreserved ", unit);
            Assert.Matches($@"(?m)^ExecStart=.* --config-dir {prefix}/etc/portreserve/reservations.d$", unit);
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

            // Both packages, each with its README, license, assembly and XML docs (the version is all digits and dots).
            string[] packages = [.. Directory.GetFiles(Path.Combine(prefix, "share/portreserve/packages"), "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
            foreach (string id in (string[])["PortReserve", "PortReserve.AspNetCore"])
            {
                string package = Assert.Single(packages, p => p.StartsWith(id + ".", StringComparison.Ordinal) && char.IsAsciiDigit(p[id.Length + 1]));
                using ZipArchive archive = ZipFile.OpenRead(Path.Combine(prefix, "share/portreserve/packages", package));
                string[] entries = [.. archive.Entries.Select(e => e.FullName)];
                Assert.Contains("README.md", entries);
                Assert.Contains("LICENSE", entries);
                Assert.Contains($"lib/net10.0/{id}.dll", entries);
                Assert.Contains($"lib/net10.0/{id}.xml", entries);
            }

            (int removed, string uninstall) = await ChildProcess.RunAsync(Path.Combine(Artifacts.Root, "install.sh"), ["--uninstall", "--prefix", prefix]);
            Assert.True(removed == 0, uninstall);
            Assert.False(Path.Exists(Path.Combine(prefix, "bin/portreserved")));
            Assert.False(Path.Exists(Path.Combine(prefix, "lib/portreserve")));
            Assert.False(Path.Exists(Path.Combine(prefix, "lib/systemd/system/portreserved.service")));
            Assert.False(Path.Exists(Path.Combine(prefix, "share/portreserve")));
            Assert.True(File.Exists(example), "--uninstall keeps the administrator's reservations.d");
        }
        finally
        {
            Directory.Delete(prefix, recursive: true);
        }
    }
}
