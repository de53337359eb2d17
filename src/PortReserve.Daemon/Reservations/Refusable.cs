using System.Diagnostics.CodeAnalysis;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The outcome of an operation on reservations: a value or a <see cref="Refusal"/>, never both and never neither. Read it
/// with <see cref="TryGet"/>, which hands out exactly the one that is there.
/// </summary>
internal readonly struct TableResult<T>
    where T : class
{
    private readonly T? _value;
    private readonly Refusal? _refusal;

    private TableResult(T? value, Refusal? refusal)
    {
        _value = value;
        _refusal = refusal;
    }

    public static implicit operator TableResult<T>(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null);

    public static implicit operator TableResult<T>(Refusal refusal) => new(null, refusal ?? throw new ArgumentNullException(nameof(refusal)));

    public bool TryGet([NotNullWhen(true)] out T? value, [NotNullWhen(false)] out Refusal? refusal)
    {
        // A default(TableResult) was never produced by an operation; treat it as a bug, not as success.
        value = _value;
        refusal = _refusal ?? (_value is null ? throw new InvalidOperationException("an uninitialised result") : null);
        return _value is not null;
    }
}
