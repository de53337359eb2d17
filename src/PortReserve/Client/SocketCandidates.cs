using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>The sockets a client tries, in order, when it was given no path: $PORTRESERVE_SOCKET, else the system socket, then the per-user one.</summary>
internal static class SocketCandidates
{
    /// <param name="named">True when the user named the socket ($PORTRESERVE_SOCKET), rather than the client finding it.</param>
    public static IReadOnlyList<string> Default(out bool named)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(SocketLocations.EnvironmentVariable);
        named = !string.IsNullOrEmpty(fromEnvironment);
        if (named)
        {
            return [fromEnvironment!];
        }

        string user = SocketLocations.UserSocket;
        return user == SocketLocations.SystemSocket ? [SocketLocations.SystemSocket] : [SocketLocations.SystemSocket, user];
    }
}
