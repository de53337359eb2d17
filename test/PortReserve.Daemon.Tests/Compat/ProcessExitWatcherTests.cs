using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using PortReserve.Daemon.Compat;
using PortReserve.Daemon.Server;
using PortReserve.Interop;
using PortReserve.Testing;

namespace PortReserve.Daemon.Tests.Compat;

/// <summary>Process exits as the daemon hears of them: real processes, watched by pidfd on a real event loop.</summary>
public sealed class ProcessExitWatcherTests : IDisposable
{
    private readonly EventLoop _loop = new("test loop", NullLogger.Instance);
    private readonly ProcessExitWatcher _watcher;

    public ProcessExitWatcherTests()
    {
        _loop.Start();
        _watcher = new ProcessExitWatcher(_loop);
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _loop.Dispose();
    }

    [Fact]
    public async Task AWatchedProcess_IsReportedOnceOnTheLoop_WhenItExits_AndNotBefore()
    {
        using Process child = Process.Start("sleep", "600");
        var exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        int reports = 0;
        _watcher.Watch(Open(child.Id), () =>
        {
            Interlocked.Increment(ref reports);
            exited.TrySetResult(_loop.IsCurrent);
        });

        await Task.Delay(100, TestContext.Current.CancellationToken);
        bool reportedEarly = exited.Task.IsCompleted;
        child.Kill();
        bool onTheLoop = await exited.Task.WithTimeout();
        await child.WaitForExitAsync(TestContext.Current.CancellationToken).WithTimeout();
        await Task.Delay(100, TestContext.Current.CancellationToken);

        Assert.False(reportedEarly);
        Assert.True(onTheLoop);
        Assert.Equal(1, reports);
    }

    [Fact]
    public async Task AProcessGoneBeforeItIsWatched_IsReportedAtOnce()
    {
        using Process child = Process.Start("sleep", "0.2");
        SafeFileHandle pidfd = Open(child.Id);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken).WithTimeout();
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        _watcher.Watch(pidfd, exited.SetResult);

        await exited.Task.WithTimeout();
    }

    private static SafeFileHandle Open(int pid)
    {
        SafeFileHandle pidfd = Libc.PidfdOpen(pid, 0);
        Assert.False(pidfd.IsInvalid, $"pidfd_open({pid}) failed");
        return pidfd;
    }
}
