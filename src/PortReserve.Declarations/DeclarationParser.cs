using System.Globalization;

namespace PortReserve.Declarations;

/// <summary>
/// The line format of reservations.d files. One reservation per line; <c>#</c> starts a comment; blank lines are
/// ignored:
/// <code>
/// # protocol  port or range   options
/// tcp         8080            allow-user=www-data
/// udp         5000-5019       allow-group=media
/// </code>
/// <c>allow-user=</c> and <c>allow-group=</c> take comma-separated names (or numeric ids) and may repeat; nothing else
/// is valid. Names are checked here for form only; whether they exist is the caller's question.
/// </summary>
internal static class DeclarationParser
{
    /// <summary>The most users, and the most groups, one reservation may name (the protocol's limit too).</summary>
    public const int MaxConsumers = 32;

    /// <summary>The longest user or group name accepted.</summary>
    public const int MaxNameLength = 64;

    private const string UserOption = "allow-user=";
    private const string GroupOption = "allow-group=";

    /// <summary>Every declaration and every problem in <paramref name="text"/>, read from <paramref name="file"/>, in line order.</summary>
    public static (List<DeclaredBlock> Blocks, List<DeclarationProblem> Problems) Parse(string file, string text)
    {
        var blocks = new List<DeclaredBlock>();
        var problems = new List<DeclarationProblem>();
        int number = 0;
        // Lines end at '\n' (a '\r' before it is whitespace), so that FILE:LINE is the line an editor shows.
        foreach (Range range in text.AsSpan().Split('\n'))
        {
            number++;
            ReadOnlySpan<char> line = text.AsSpan()[range];
            int comment = line.IndexOf('#');
            if (comment >= 0)
            {
                line = line[..comment];
            }

            line = line.Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            string? reason = ParseLine(line.ToString(), file, number, out DeclaredBlock? block);
            if (reason is null)
            {
                blocks.Add(block!);
            }
            else
            {
                problems.Add(new DeclarationProblem(file, number, reason));
            }
        }

        return (blocks, problems);
    }

    private static string? ParseLine(string line, string file, int number, out DeclaredBlock? block)
    {
        block = null;
        string[] fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        PortReservationProtocol protocol;
        switch (fields[0].ToLowerInvariant())
        {
            case "tcp":
                protocol = PortReservationProtocol.Tcp;
                break;
            case "udp":
                protocol = PortReservationProtocol.Udp;
                break;
            default:
                return $"'{Shorten(fields[0])}' is not a protocol: a line starts with tcp or udp, then a port or range, like 'tcp 8080' or 'udp 5000-5019'";
        }

        if (fields.Length < 2)
        {
            return $"{fields[0]} needs a port or range after it, like '{fields[0]} 8080' or '{fields[0]} 8080-8089'";
        }

        (int start, int end, string? portProblem) = ParsePorts(fields[1]);
        if (portProblem is not null)
        {
            return portProblem;
        }

        var users = new List<string>();
        var groups = new List<string>();
        foreach (string option in fields.AsSpan(2))
        {
            (string name, List<string> names) = option.StartsWith(UserOption, StringComparison.Ordinal) ? (UserOption, users)
                : option.StartsWith(GroupOption, StringComparison.Ordinal) ? (GroupOption, groups)
                : (string.Empty, null!);
            if (names is null)
            {
                return $"'{Shorten(option)}' is not an option: after the port only allow-user=NAME[,NAME...] and allow-group=NAME[,NAME...] may follow";
            }

            string[] listed = option[name.Length..].Split(',');
            if (listed.FirstOrDefault(n => n.Length is 0 or > MaxNameLength) is { } bad)
            {
                return bad.Length == 0
                    ? $"{name} needs comma-separated names, without empty ones, like {name}www-data"
                    : $"'{Shorten(bad)}' in {name} is not a user or group name (1-{MaxNameLength} characters)";
            }

            names.AddRange(listed.Where(n => !names.Contains(n, StringComparer.Ordinal)));
        }

        if (users.Count > MaxConsumers || groups.Count > MaxConsumers)
        {
            return $"a reservation may name at most {MaxConsumers} users and {MaxConsumers} groups; this line names {users.Count} and {groups.Count}";
        }

        block = new DeclaredBlock(protocol, start, end - start + 1, users, groups, file, number);
        return null;
    }

    /// <summary>"8080" or "8080-8089", each port 1-65535, low before high.</summary>
    private static (int Start, int End, string? Reason) ParsePorts(string text)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        string low = dash < 0 ? text : text[..dash];
        string high = dash < 0 ? text : text[(dash + 1)..];
        if (!IsNumber(low) || !IsNumber(high))
        {
            return (0, 0, $"'{Shorten(text)}' is not a port or range: write PORT or LO-HI, like 8080 or 5000-5019");
        }

        // Compare as numbers only when they fit; a long digit string is out of range, not an overflow.
        int start = low.Length > 6 ? int.MaxValue : int.Parse(low, NumberStyles.None, CultureInfo.InvariantCulture);
        int end = high.Length > 6 ? int.MaxValue : int.Parse(high, NumberStyles.None, CultureInfo.InvariantCulture);
        if (start is < 1 or > 65535 || end is < 1 or > 65535)
        {
            return (0, 0, $"{Shorten(text)} is outside 1-65535");
        }

        return start > end ? (0, 0, $"{text} runs backwards: write the low port first") : (start, end, null);
    }

    private static bool IsNumber(string text) => text.Length > 0 && text.All(char.IsAsciiDigit);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
