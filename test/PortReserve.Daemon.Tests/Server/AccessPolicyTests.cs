using PortReserve.Daemon.Server;

namespace PortReserve.Daemon.Tests.Server;

public sealed class AccessPolicyTests
{
    [Fact]
    public void IsAdministrator_AdministratorsAreRootTheDaemonsOwnUserAndAdminGroupMembers()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: 990, daemonUid: 1000);

        Assert.True(policy.IsAdministrator(0, [0]));
        Assert.True(policy.IsAdministrator(1000, [1000]));
        Assert.True(policy.IsAdministrator(1001, [1001, 990]));
        Assert.False(policy.IsAdministrator(1002, [1002]));
        Assert.Contains("uid 1000", policy.Describe());
    }

    [Fact]
    public void IsAdministrator_NoAdminGroup_LeavesRootAndTheDaemonsUser()
    {
        var policy = new AccessPolicy("portreserve", adminGroupId: null);

        Assert.True(policy.IsAdministrator(0, [0]));
        Assert.False(policy.IsAdministrator(1000, [1000, 990]));
        Assert.Contains("does not exist", policy.Describe());
    }
}
