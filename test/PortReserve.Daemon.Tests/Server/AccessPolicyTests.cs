using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Tests.Server;

public sealed class AccessPolicyTests
{
    [Fact]
    public void RequesterFor_AdministratorsAreRootTheDaemonsOwnUserAndAdminGroupMembers()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: 990, daemonUid: 1000);

        Assert.True(policy.RequesterFor(new PeerCredentials(1, 1, 0, 0, [0], null)).IsAdministrator);
        Assert.True(policy.RequesterFor(new PeerCredentials(2, 2, 1000, 1000, [1000], null)).IsAdministrator);
        Assert.True(policy.RequesterFor(new PeerCredentials(3, 3, 1001, 1001, [1001, 990], null)).IsAdministrator);
        Assert.False(policy.RequesterFor(new PeerCredentials(4, 4, 1002, 1002, [1002], null)).IsAdministrator);
        Assert.Contains("uid 1000", policy.Describe());
    }

    [Fact]
    public void RequesterFor_NoAdminGroup_LeavesRootAndTheDaemonsUser()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: null);

        Assert.True(policy.RequesterFor(new PeerCredentials(1, 1, 0, 0, [0], null)).IsAdministrator);
        Assert.False(policy.RequesterFor(new PeerCredentials(2, 2, 1000, 1000, [1000, 990], null)).IsAdministrator);
        Assert.Contains("does not exist", policy.Describe());
    }
}
