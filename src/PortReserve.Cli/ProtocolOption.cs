using System.CommandLine;

namespace PortReserve.Cli;

/// <summary>The <c>--protocol tcp|udp</c> option.</summary>
internal static class ProtocolOption
{
    public static Option<PortReservationProtocol?> Create(bool required)
    {
        var option = new Option<PortReservationProtocol?>("--protocol")
        {
            Description = "tcp or udp",
            Required = required,
            CustomParser = result =>
            {
                string value = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
                switch (value.ToLowerInvariant())
                {
                    case "tcp":
                        return PortReservationProtocol.Tcp;
                    case "udp":
                        return PortReservationProtocol.Udp;
                    default:
                        result.AddError($"--protocol must be tcp or udp, not '{value}'");
                        return null;
                }
            },
        };
        option.AcceptOnlyFromAmong("tcp", "udp");
        return option;
    }
}
