using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace PortReserve.AspNetCore;

/// <summary>
/// Reads <see cref="ReservedListenOptions"/> from configuration, so a deployment chooses the block without a code
/// change: the section <c>PortReserve:Listen</c> of appsettings.json, or environment variables such as
/// <c>PortReserve__Listen__StartPort=8080</c>. A value that is not valid fails the host when Kestrel is configured (at start), naming the key.
/// </summary>
internal static class ReservedListenConfiguration
{
    public const string SectionName = "PortReserve:Listen";

    public static void Bind(IConfiguration configuration, ReservedListenOptions options)
    {
        IConfigurationSection section = configuration.GetSection(SectionName);
        options.StartPort = Integer(section, nameof(ReservedListenOptions.StartPort), options.StartPort, 0, 65535);
        options.Count = Integer(section, nameof(ReservedListenOptions.Count), options.Count, 1, 65535);
        options.Port = Integer(section, nameof(ReservedListenOptions.Port), options.Port, 0, 65535);
        options.Persistent = Boolean(section, nameof(ReservedListenOptions.Persistent), options.Persistent);
        options.StopHostWhenLost = Boolean(section, nameof(ReservedListenOptions.StopHostWhenLost), options.StopHostWhenLost);
        if (section[nameof(ReservedListenOptions.Address)] is { } address)
        {
            options.Address = address.Trim() switch
            {
                "*" => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                var text when IPAddress.TryParse(text, out IPAddress? parsed) => parsed,
                _ => throw Invalid(section, nameof(ReservedListenOptions.Address), address, "an IP address, 'localhost' or '*' (every address, IPv4 and IPv6)"),
            };
        }
    }

    private static int Integer(IConfigurationSection section, string key, int current, int min, int max)
        => section[key] is not { } text ? current
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max ? value
            : throw Invalid(section, key, text, $"a whole number from {min} to {max}");

    private static bool Boolean(IConfigurationSection section, string key, bool current)
        => section[key] is not { } text ? current
            : bool.TryParse(text, out bool value) ? value
            : throw Invalid(section, key, text, "true or false");

    private static InvalidOperationException Invalid(IConfigurationSection section, string key, string value, string expected)
        => new($"configuration {section.Path}:{key} is '{value}', which is not {expected}");
}
