namespace PortReserve.Daemon;

/// <summary>
/// The steps that take the daemon down, registered as each part is built and run in reverse: what was built last (the
/// listeners) stops first, what everything depends on (the store) goes last. Running it twice does nothing more.
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
        while (_steps.TryPop(out Func<ValueTask>? step))
        {
            await step().ConfigureAwait(false);
        }
    }
}
