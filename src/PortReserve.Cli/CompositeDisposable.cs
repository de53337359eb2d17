namespace PortReserve.Cli;

/// <summary>Disposes a group of registrations together.</summary>
internal sealed class CompositeDisposable : IDisposable
{
    private readonly List<IDisposable> _items = [];

    public void Add(IDisposable item) => _items.Add(item);

    public void Dispose()
    {
        foreach (IDisposable item in _items)
        {
            item.Dispose();
        }
    }
}
