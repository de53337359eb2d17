using System.Diagnostics.CodeAnalysis;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// What a request that may be refused gives: its value (a reservation, a reload's report) or the <see cref="Refusal"/>
/// given instead, never both and never neither. Read it with <see cref="TryGet"/>, which hands out exactly the one that
/// is there.
/// </summary>
internal readonly struct Refusable<T>
    where T : class
{
    private readonly T? _value;
    private readonly Refusal? _refusal;

    private Refusable(T? value, Refusal? refusal)
    {
        _value = value;
        _refusal = refusal;
    }

    public static implicit operator Refusable<T>(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null);

    public static implicit operator Refusable<T>(Refusal refusal) => new(null, refusal ?? throw new ArgumentNullException(nameof(refusal)));

    public bool TryGet([NotNullWhen(true)] out T? value, [NotNullWhen(false)] out Refusal? refusal)
    {
        // A default(Refusable) was never produced by an operation; treat it as a bug, not as success.
        value = _value;
        refusal = _refusal ?? (_value is null ? throw new InvalidOperationException("an uninitialised result") : null);
        return _value is not null;
    }
}
