namespace PortReserve.IntegrationTests.Infrastructure;

/// <summary>Persistent reservations the tests make through an administrator's client.</summary>
internal static class Persistent
{
    /// <summary>TCP <paramref name="port"/> alone, allowed to the user nobody (as <c>portreserve add --allow-user nobody</c>).</summary>
    public static async Task CreateAllowingNobodyAsync(PortReservationClient client, int port)
    {
        var options = new PersistentReservationOptions();
        options.AllowedUsers.Add("nobody");
        await client.CreatePersistentAsync(PortReservationProtocol.Tcp, port, 1, options, TestContext.Current.CancellationToken).WithTimeout();
    }
}
