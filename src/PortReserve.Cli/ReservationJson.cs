using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>
/// One row of <c>show --json</c>; the token is a decimal string (64-bit values do not survive JSON numbers in every
/// reader); the source is the <c>FILE:LINE</c> of a declared reservation, null for all others.
/// </summary>
internal sealed record ReservationJson(
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("start")] int Start,
    [property: JsonPropertyName("end")] int End,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("ownerPid")] int? OwnerPid,
    [property: JsonPropertyName("ownerUid")] uint? OwnerUid,
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("allowedUsers")] IReadOnlyList<string> AllowedUsers,
    [property: JsonPropertyName("allowedGroups")] IReadOnlyList<string> AllowedGroups,
    [property: JsonPropertyName("source")] string? Source);
