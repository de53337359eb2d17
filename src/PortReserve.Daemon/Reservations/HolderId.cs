using System.Globalization;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// What a runtime reservation lives as long as: a client connection, or the process a portserver grant was made for.
/// The two share one number space, as the crash records keep them (<see cref="Value"/>): a connection's id is its
/// number, a grant's the negative of its number.
/// </summary>
internal readonly record struct HolderId
{
    private HolderId(long value) => Value = value;

    /// <summary>The id as the crash records and the process-tree record keep it.</summary>
    public long Value { get; }

    /// <summary>True for a client connection, false for a portserver grant.</summary>
    public bool IsConnection => Value > 0;

    /// <summary>The holder that is client connection <paramref name="number"/> (from 1).</summary>
    public static HolderId Connection(long number) => number > 0 ? new(number) : throw new ArgumentOutOfRangeException(nameof(number), number, "a connection's number is positive");

    /// <summary>The holder that is portserver grant <paramref name="number"/> (from 1).</summary>
    public static HolderId PortServerGrant(long number) => number > 0 ? new(-number) : throw new ArgumentOutOfRangeException(nameof(number), number, "a grant's number is positive");

    /// <summary>The holder a record kept as <paramref name="value"/>.</summary>
    public static HolderId FromRecord(long value) => new(value);

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
