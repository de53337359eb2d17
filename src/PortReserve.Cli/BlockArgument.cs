using System.Globalization;

namespace PortReserve.Cli;

/// <summary>
/// A block named on the command line: by <c>--protocol --start --count</c> (add, lookup, delete), or by one of
/// <c>run</c>'s <c>--tcp N</c> (any N ports, start 0) or <c>--tcp-at START:N</c> (exactly those).
/// </summary>
internal sealed record BlockArgument(PortReservationProtocol Protocol, int Start, int Count)
{
    /// <summary>Parses the value of --tcp/--udp (N) or --tcp-at/--udp-at (START:N); null with an error message when invalid.</summary>
    public static BlockArgument? Parse(string option, string value, out string? error)
    {
        PortReservationProtocol protocol = option.StartsWith("--tcp", StringComparison.Ordinal) ? PortReservationProtocol.Tcp : PortReservationProtocol.Udp;
        bool specific = option.EndsWith("-at", StringComparison.Ordinal);
        string[] parts = value.Split(':');
        error = null;
        if (specific && parts.Length == 2 && TryPort(parts[0], out int start) && TryPort(parts[1], out int count) && start + count - 1 <= 65535)
        {
            return new BlockArgument(protocol, start, count);
        }

        if (!specific && parts.Length == 1 && TryPort(parts[0], out int any))
        {
            return new BlockArgument(protocol, 0, any);
        }

        error = specific
            ? $"{option} takes START:COUNT with START 1-65535, COUNT 1-65535 and the block ending at or below 65535, not '{value}'"
            : $"{option} takes a port count from 1 to 65535, not '{value}'";
        return null;
    }

    private static bool TryPort(string text, out int value)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value is >= 1 and <= 65535;
}
