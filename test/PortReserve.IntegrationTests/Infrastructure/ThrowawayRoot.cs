namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>
/// A copy of this machine to install packages into: an overlay of <c>/</c> whose writes go to a tmpfs, with its own
/// proc, run, tmp and bpffs, no .NET SDK, in private mount and network namespaces, all gone when it is disposed.
/// Commands run chrooted into it with a clean environment, as root.
/// </summary>
internal sealed class ThrowawayRoot : IAsyncDisposable
{
    // The holder keeps the namespaces alive; every command enters them. What it mounts is private to its mount
    // namespace (unshare makes propagation private), so nothing of it reaches the machine.
    private const string Setup = """
        set -e
        base=$1
        mount -t tmpfs -o mode=0755 tmpfs "$base"
        mkdir "$base/upper" "$base/work" "$base/root"
        mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
        r=$base/root
        mount -t proc proc "$r/proc"
        mount --rbind /dev "$r/dev"
        mount --rbind /sys "$r/sys"
        mount -t bpf -o mode=0700 bpf "$r/sys/fs/bpf"
        mount -t tmpfs -o mode=0755 tmpfs "$r/run"
        mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
        rm -rf "$r/usr/share/dotnet" "$r/usr/bin/dotnet" "$r/usr/lib/dotnet" "$r/root/.dotnet"
        ip link set lo up
        echo "ready $$"
        exec sleep infinity
        """;

    private static readonly string[] s_environment = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C.UTF-8", "TERM=dumb"];

    private readonly ChildProcess _holder;
    private readonly string _base;
    private readonly int _pid;

    private ThrowawayRoot(ChildProcess holder, string @base, int pid)
    {
        _holder = holder;
        _base = @base;
        _pid = pid;
    }

    /// <summary>
    /// The root's directory as the test sees it, to copy files in and read them back: through the holder's own view of
    /// the file system, since the overlay is mounted in its mount namespace only.
    /// </summary>
    public string Path => $"/proc/{_pid}/root{Inside}";

    private string Inside => System.IO.Path.Combine(_base, "root");

    public static async Task<ThrowawayRoot> CreateAsync()
    {
        string @base = Directory.CreateTempSubdirectory("prt-root-").FullName;
        ChildProcess holder = ChildProcess.Start("unshare", ["--mount", "--net", "--fork", "--kill-child", "bash", "-c", Setup, "throwaway-root", @base]);
        try
        {
            string ready = await holder.WaitForLineAsync(line => line.StartsWith("ready ", StringComparison.Ordinal), Timeouts.Default);
            return new ThrowawayRoot(holder, @base, int.Parse(ready["ready ".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            await holder.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command in the root to completion.</summary>
    public Task<(int ExitCode, string Output)> RunAsync(params string[] command) => ChildProcess.RunAsync("nsenter", Enter(command), timeout: TimeSpan.FromMinutes(2));

    /// <summary>Starts a long-running command in the root (nsenter and chroot exec it: its pid is the command's).</summary>
    public ChildProcess Start(params string[] command) => ChildProcess.Start("nsenter", Enter(command));

    private string[] Enter(string[] command) => ["--target", _pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--mount", "--net", .. s_environment, "chroot", Inside, .. command];

    public async ValueTask DisposeAsync()
    {
        await _holder.DisposeAsync();
        try
        {
            Directory.Delete(_base);
        }
        catch (IOException)
        {
            // Still a mount point while the last process in the namespace goes; the directory is empty either way.
        }
    }
}
