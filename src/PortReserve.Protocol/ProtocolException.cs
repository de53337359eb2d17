namespace PortReserve.Protocol;

/// <summary>A frame broke the wire protocol: truncated, oversized, an unknown enum value, trailing bytes.</summary>
internal sealed class ProtocolException(string message) : Exception(message);
