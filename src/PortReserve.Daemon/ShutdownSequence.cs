namespace PortReserve.Daemon;

/// <summary>
/// The steps that take the daemon down, registered as each part is built and run in reverse: what was built last (the
/// listeners) stops first, what everything depends on (the store) goes last. Every step runs, even after one failed;
/// the first failure is thrown at the end. Running it twice does nothing more.
/// </summary>
internal sealed class ShutdownSequence
{
    private readonly Stack<Func<ValueTask>> _steps = new();

    public T Add<T>(T part)
        where T : IAsyncDisposable
    {
        _steps.Push(part.DisposeAsync);
        return part;
    }

    public T AddSync<T>(T part)
        where T : IDisposable
    {
        _steps.Push(() =>
        {
            part.Dispose();
            return ValueTask.CompletedTask;
        });
        return part;
    }

    public void Add(Func<Task> step) => _steps.Push(() => new ValueTask(step()));

    public async ValueTask RunAsync()
    {
        Exception? failure = null;
        while (_steps.TryPop(out Func<ValueTask>? step))
        {
            try
            {
                await step().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
