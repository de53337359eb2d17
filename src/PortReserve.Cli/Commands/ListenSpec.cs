using System.Globalization;
using System.Net;

namespace PortReserve.Cli.Commands;

/// <summary>
/// One <c>run --listen PROTO:[ADDRESS:]PORT</c>: <c>tcp:443</c>, <c>udp:0</c> (any free port),
/// <c>tcp:127.0.0.1:8080</c>, <c>udp:[::1]:5353</c>. Without an address the socket takes every address, IPv4 and IPv6.
/// </summary>
internal sealed partial record ListenSpec(PortReservationProtocol Protocol, IPAddress? Address, int Port)
{
    public const string Syntax = "PROTO:[ADDRESS:]PORT (tcp:443, udp:0 for any free port, tcp:127.0.0.1:8080, udp:[::1]:5353)";

    public static ListenSpec? Parse(string text, out string? error)
    {
        error = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        int last = text.LastIndexOf(':');
        PortReservationProtocol? protocol = colon < 0 ? null : text[..colon] switch
        {
            "tcp" => PortReservationProtocol.Tcp,
            "udp" => PortReservationProtocol.Udp,
            _ => null,
        };
        bool hasAddress = colon < last;
        IPAddress? address = hasAddress ? ParseAddress(text[(colon + 1)..last]) : null;
        if (protocol is { } known
            && int.TryParse(text.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535
            && (!hasAddress || address is not null))
        {
            return new ListenSpec(known, address, port);
        }

        error = $"--listen takes {Syntax}, not '{text}'";
        return null;
    }

    /// <summary>An IPv4 address, or an IPv6 one in brackets (its colons would otherwise read as the port's).</summary>
    private static IPAddress? ParseAddress(string text)
        => text.StartsWith('[') && text.EndsWith(']') && IPAddress.TryParse(text[1..^1], out IPAddress? v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? v6
            : DottedQuad().IsMatch(text) && IPAddress.TryParse(text, out IPAddress? v4) ? v4
            : null;

    /// <summary>Four decimal numbers: IPAddress would also take octal, hex and fewer parts (0177.1, 0x7f.0.0.1).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$")]
    private static partial System.Text.RegularExpressions.Regex DottedQuad();
}
