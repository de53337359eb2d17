namespace PortReserve.Daemon.Server;

/// <summary>What the daemon says about itself in status replies.</summary>
internal sealed record DaemonIdentity(string Version, string SocketPath, string StateDirectory, TimeProvider Time)
{
    public string? PortServerAddress { get; init; }

    public string? MetricsAddress { get; init; }

    public long StartedAt { get; } = Time.GetTimestamp();

    public TimeSpan Uptime => Time.GetElapsedTime(StartedAt);
}
