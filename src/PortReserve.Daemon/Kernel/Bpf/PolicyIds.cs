namespace PortReserve.Daemon.Kernel.Bpf;

/// <summary>
/// Hands out policy ids 1..max. A freed id goes to the back of the line, so an id is reused as late as possible: a bind
/// that read a port's old id just before it was cleared then still finds that policy, or an empty one.
/// </summary>
internal sealed class PolicyIds(int max)
{
    private readonly Queue<uint> _freed = new();
    private uint _next = 1;

    public uint Take()
    {
        if (_next < max)
        {
            return _next++;
        }

        return _freed.TryDequeue(out uint id)
            ? id
            : throw new IOException($"the bind hook's policy table is full ({max - 1} holders and persistent reservations); release some reservations");
    }

    public void Return(uint id) => _freed.Enqueue(id);
}
