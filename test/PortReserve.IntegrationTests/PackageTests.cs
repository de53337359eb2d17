using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// ./package.sh gives a Debian package that lintian passes, that installs with dpkg on this machine (a throwaway copy
/// of it, without the .NET SDK), whose programs, unit, man pages, completion and group work, and that removes and
/// purges cleanly, leaving nothing enforced.
/// </summary>
public sealed class PackageTests
{
    private const string InstalledDeb = "/tmp/portreserve.deb";

    [Fact(Timeout = 900_000)]
    public async Task PackageSh_GivesADebThatInstallsRunsWithoutDotnetAndPurgesCleanly()
    {
        string version = (await File.ReadAllTextAsync(Path.Combine(Artifacts.Root, "VERSION"), TestContext.Current.CancellationToken)).Trim();
        (_, string architecture) = await ChildProcess.RunAsync("dpkg", ["--print-architecture"]);
        string deb = Path.Combine(Artifacts.Root, "artifacts", $"portreserve_{version}_{architecture.Trim()}.deb");

        (int built, string build) = await ChildProcess.RunAsync(Path.Combine(Artifacts.Root, "package.sh"), [], timeout: TimeSpan.FromMinutes(10));
        Assert.True(built == 0, build);
        Assert.True(File.Exists(deb), build);
        foreach (string library in (string[])["PortReserve", "PortReserve.AspNetCore"])
        {
            Assert.True(File.Exists(Path.Combine(Artifacts.Root, "artifacts", $"{library}.{version}.nupkg")), $"{library}.{version}.nupkg is missing:\n{build}");
        }

        // No errors and no warnings but those explained in the package's overrides.
        (int linted, string lint) = await ChildProcess.RunAsync("lintian", ["--fail-on", "error,warning", deb], timeout: TimeSpan.FromMinutes(5));
        Assert.True(linted == 0, lint);
        Assert.DoesNotMatch(@"(?m)^[EW]: ", lint);

        // Installing needs an overlay of the machine and a /proc of its own: what only the real root may mount.
        Assert.SkipUnless(OtherUser.CanSwitch, "built and linted; installing it needs real root, to mount a throwaway root");
        await using ThrowawayRoot root = await ThrowawayRoot.CreateAsync();
        File.Copy(deb, root.Path + InstalledDeb);
        await Succeeds(root, "dpkg", "-i", InstalledDeb);
        (_, string files) = await root.RunAsync("dpkg-query", "-L", "portreserve");

        // Self-contained: there is no dotnet in the root at all.
        Assert.NotEqual(0, (await root.RunAsync("sh", "-c", "command -v dotnet")).ExitCode);
        Assert.False(File.Exists(root.Path + "/usr/share/dotnet/dotnet"));

        Assert.Equal(version, await Succeeds(root, "dpkg-query", "-W", "-f=${Version}", "portreserve"));
        Assert.StartsWith(version + "+", await Succeeds(root, "portreserve", "--version"), StringComparison.Ordinal);
        Assert.StartsWith(version + "+", await Succeeds(root, "portreserved", "--version"), StringComparison.Ordinal);
        Assert.Equal("/usr/sbin/portreserved", await Succeeds(root, "sh", "-c", "command -v portreserved"));
        Assert.Equal("/usr/bin/portreserve", await Succeeds(root, "sh", "-c", "command -v portreserve"));
        Assert.StartsWith("portreserve:x:", await Succeeds(root, "getent", "group", "portreserve"), StringComparison.Ordinal);
        Assert.True(Directory.Exists(root.Path + "/usr/lib/portreserve/reservations.d"), "the directory other packages declare reservations in");

        // The unit runs the installed programs and is enabled (there is no systemd running here to start it).
        string unit = await File.ReadAllTextAsync(root.Path + "/lib/systemd/system/portreserved.service", TestContext.Current.CancellationToken);
        Assert.Contains("ExecStart=/usr/sbin/portreserved ", unit);
        Assert.Contains("ExecReload=/usr/bin/portreserve reload ", unit);
        Assert.True(File.Exists(root.Path + "/etc/systemd/system/multi-user.target.wants/portreserved.service"));
        Assert.Equal("0 reservations in 1 file: no problems", await Succeeds(root, "portreserve", "check", "/etc/portreserve/reservations.d/example.conf"));

        Assert.Contains("portreserve - reserve TCP and UDP ports through portreserved", await Succeeds(root, "env", "MANWIDTH=300", "man", "-P", "cat", "1", "portreserve"));
        Assert.Contains("--restart-grace SECONDS", await Succeeds(root, "env", "MANWIDTH=300", "man", "-P", "cat", "8", "portreserved"));
        Assert.Contains("persistent port reservations declared in reservations.d files", await Succeeds(root, "env", "MANWIDTH=300", "man", "-P", "cat", "5", "portreserve.conf"));

        Assert.Equal("status", await Complete(root, "portreserve", "portreserve st"));
        Assert.Equal("tcp udp", await Complete(root, "portreserve", "portreserve add --protocol "));
        Assert.Equal("auto on off", await Complete(root, "portreserved", "portreserved --kernel-sync "));

        // The installed daemon, with its defaults, in the root's own network namespace.
        await using (ChildProcess daemon = root.Start("/usr/sbin/portreserved"))
        {
            await Timeouts.Eventually(async () => (await root.RunAsync("portreserve", "status")).ExitCode == 0, $"the installed daemon answers portreserve status:\n{daemon.Output}", TimeSpan.FromSeconds(60));
            Assert.Contains("exclusive binds: auto: on", await Succeeds(root, "portreserve", "status"));
            Assert.Matches(@"^\d+$", await Succeeds(root, "portreserve", "run", "--tcp", "1", "--", "sh", "-c", "echo $PORTRESERVE_TCP"));
            Assert.NotEmpty(await Succeeds(root, "portreserve", "add", "--protocol", "tcp", "--start", "20443", "--count", "1"));
            Assert.Contains("20443", await Succeeds(root, "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"));

            // With no systemd to stop it, a daemon started by hand keeps the package from being removed: once its
            // programs were gone, nothing could release what it enforces.
            (int removedWhileRunning, string refusal) = await root.RunAsync("dpkg", "-r", "portreserve");
            Assert.True(removedWhileRunning != 0, refusal);
            Assert.Contains("portreserved is still running; stop it", refusal);
            Assert.Equal(version, await Succeeds(root, "dpkg-query", "-W", "-f=${Version}", "portreserve"));
            Assert.Equal(0, (await root.RunAsync("portreserve", "status")).ExitCode);

            daemon.Signal(Signals.SigTerm);
            Assert.Equal(0, await daemon.WaitForExitAsync(Timeouts.Default));
        }

        // A stopped daemon keeps its persistent reservation in the kernel; removing the package releases it.
        Assert.Contains("20443", await Succeeds(root, "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"));
        await Succeeds(root, "dpkg", "-r", "portreserve");
        Assert.DoesNotContain("20443", await Succeeds(root, "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"));
        Assert.False(Directory.Exists(root.Path + "/sys/fs/bpf/portreserve"), "the bind hooks are still pinned after dpkg -r");
        Assert.False(File.Exists(root.Path + "/usr/sbin/portreserved"));
        Assert.True(File.Exists(root.Path + "/etc/portreserve/reservations.d/example.conf"), "dpkg -r keeps the configuration");
        Assert.True(File.Exists(root.Path + "/var/lib/portreserve/reservations.db"), "dpkg -r keeps the persistent store");

        await Succeeds(root, "dpkg", "-P", "portreserve");
        Assert.NotEqual(0, (await root.RunAsync("dpkg-query", "-W", "portreserve")).ExitCode);
        string[] left = [.. files.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(path => path.Contains("portreserve", StringComparison.Ordinal) && Path.Exists(root.Path + path))];
        Assert.Empty(left);
        Assert.False(Directory.Exists(root.Path + "/var/lib/portreserve"), "dpkg -P removes the persistent store");
        Assert.False(Path.Exists(root.Path + "/etc/systemd/system/multi-user.target.wants/portreserved.service"), "dpkg -P removes the unit's enablement");
    }

    private static async Task<string> Succeeds(ThrowawayRoot root, params string[] command)
    {
        (int exit, string output) = await root.RunAsync(command);
        Assert.True(exit == 0, $"{string.Join(' ', command)} exited {exit}:\n{output}");
        return output.Trim();
    }

    /// <summary>What bash completion offers for <paramref name="line"/>, loaded the way an interactive shell loads it.</summary>
    private static Task<string> Complete(ThrowawayRoot root, string command, string line)
        => Succeeds(root, "bash", "-c", """
            source /usr/share/bash-completion/bash_completion
            __load_completion "$1"
            COMP_LINE=$2 COMP_POINT=${#2}
            read -ra COMP_WORDS <<<"$2"
            [[ $2 == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            "$(complete -p "$1" | sed 's/.*-F \([^ ]*\).*/\1/')" 2>/dev/null
            echo "${COMPREPLY[*]}"
            """, "complete", command, line);
}
