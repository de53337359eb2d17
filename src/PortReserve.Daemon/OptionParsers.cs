using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace PortReserve.Daemon;

/// <summary>
/// The daemon's typed options, parsed here rather than by the library, so that a bad value is a usage error (exit 2)
/// naming the option and what it takes, never an unhandled exception or a .NET type name.
/// </summary>
internal static class OptionParsers
{
    /// <summary>A whole number at least <paramref name="minimum"/>.</summary>
    public static Option<int> WholeNumber(string name, string description, int defaultValue, int minimum = 1, string helpName = "N", string unit = "")
        => new(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = Text(result);
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= minimum)
                {
                    return value;
                }

                result.AddError($"{name} takes a whole number{unit} of at least {minimum}, not '{text}'");
                return defaultValue;
            },
        };

    /// <summary>
    /// One of the enum's names, in any case, listed in lower case in the help and the error; null when not given, so
    /// that the help says the default in lower case too.
    /// </summary>
    public static Option<T?> Choice<T>(string name, string description, T defaultValue, string? helpName = null)
        where T : struct, Enum
    {
        string[] names = [.. Enum.GetNames<T>().Select(n => n.ToLowerInvariant())];
        return new Option<T?>(name)
        {
            Description = $"{description} [default: {defaultValue.ToString().ToLowerInvariant()}]",
            HelpName = helpName ?? string.Join('|', names),
            CustomParser = result =>
            {
                string text = Text(result);

                // Names only: Enum.TryParse would also take "7", a value no name has.
                if (text.Length > 0 && text.All(char.IsAsciiLetter) && Enum.TryParse(text, ignoreCase: true, out T value))
                {
                    return value;
                }

                result.AddError($"{name} takes {string.Join(", ", names[..^1])} or {names[^1]}, not '{text}'");
                return null;
            },
        };
    }

    private static string Text(ArgumentResult result) => result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
}
