namespace PortReserve.Testing;

/// <summary>Every await in these tests is bounded: a hang is a failure, not a stuck run.</summary>
internal static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(20);

    public static Task WithTimeout(this Task task, TimeSpan? timeout = null)
        => task.WaitAsync(timeout ?? Default, TestContext.Current.CancellationToken);

    public static Task<T> WithTimeout<T>(this Task<T> task, TimeSpan? timeout = null)
        => task.WaitAsync(timeout ?? Default, TestContext.Current.CancellationToken);

    public static Task WithTimeout(this ValueTask task, TimeSpan? timeout = null) => task.AsTask().WithTimeout(timeout);

    public static Task<T> WithTimeout<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().WithTimeout(timeout);

    /// <summary>A task that completes when <paramref name="token"/> is cancelled (a reservation's Lost, say).</summary>
    public static Task WhenCancelled(this CancellationToken token)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(cancelled.SetResult);
        return cancelled.Task;
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> when it never does.</summary>
    public static async Task Eventually(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        DateTimeOffset deadline = TimeProvider.System.GetUtcNow() + (timeout ?? Default);
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>As the other, for a condition that must run a process or wait to be told.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        DateTimeOffset deadline = TimeProvider.System.GetUtcNow() + (timeout ?? Default);
        while (!await condition().WithTimeout())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Asks <paramref name="probe"/> until its answer is <paramref name="settled"/> or the time is up, and returns the
    /// last answer, for the caller to assert on with a message that shows it.
    /// </summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> probe, Func<T, bool> settled, TimeSpan? timeout = null)
    {
        DateTimeOffset deadline = TimeProvider.System.GetUtcNow() + (timeout ?? Default);
        T answer = await probe().WithTimeout();
        while (!settled(answer) && TimeProvider.System.GetUtcNow() < deadline)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
            answer = await probe().WithTimeout();
        }

        return answer;
    }
}
