namespace PortReserve.Daemon.Reservations;

/// <summary>A user or group allowed to consume a persistent reservation, by id, with the name it was given as.</summary>
internal sealed record Consumer(uint Id, string Name)
{
    public override string ToString() => Name == Id.ToString(System.Globalization.CultureInfo.InvariantCulture) ? Name : $"{Name}({Id})";
}
