using PortReserve.Protocol;

namespace PortReserve.Client;

/// <summary>The sockets a client tries, in order, when it was given no path: $PORTRESERVE_SOCKET, else the system socket, then the per-user one.</summary>
internal static class SocketCandidates
{
    public static IReadOnlyList<string> Default()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(SocketLocations.EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return [fromEnvironment];
        }

        string user = SocketLocations.UserSocket;
        return user == SocketLocations.SystemSocket ? [SocketLocations.SystemSocket] : [SocketLocations.SystemSocket, user];
    }
}
