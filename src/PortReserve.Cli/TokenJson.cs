using System.Text.Json.Serialization;

namespace PortReserve.Cli;

/// <summary>What <c>add --json</c> and <c>lookup --json</c> print: the token as a decimal string.</summary>
internal sealed record TokenJson([property: JsonPropertyName("token")] string Token);
