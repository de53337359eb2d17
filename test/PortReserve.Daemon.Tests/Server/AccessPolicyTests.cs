using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Tests.Server;

public sealed class AccessPolicyTests
{
    [Fact]
    public void RequesterFor_AdministratorsAreRootTheDaemonsOwnUserAndAdminGroupMembers()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: 990, daemonUid: 1000);

        Assert.True(policy.RequesterFor(new PeerCredentials(1, 0, 0, [0])).IsAdministrator);
        Assert.True(policy.RequesterFor(new PeerCredentials(2, 1000, 1000, [1000])).IsAdministrator);
        Assert.True(policy.RequesterFor(new PeerCredentials(3, 1001, 1001, [1001, 990])).IsAdministrator);
        Assert.False(policy.RequesterFor(new PeerCredentials(4, 1002, 1002, [1002])).IsAdministrator);
        Assert.Contains("uid 1000", policy.Describe());
    }

    [Fact]
    public void RequesterFor_NoAdminGroup_LeavesRootAndTheDaemonsUser()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: null);

        Assert.True(policy.RequesterFor(new PeerCredentials(1, 0, 0, [0])).IsAdministrator);
        Assert.False(policy.RequesterFor(new PeerCredentials(2, 1000, 1000, [1000, 990])).IsAdministrator);
        Assert.Contains("does not exist", policy.Describe());
    }
}
