using System.Globalization;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>Who may create, delete, look up and consume persistent reservations: real other uids via setpriv.</summary>
public sealed class PersistentAccessTests
{
    [Fact(Timeout = 60_000)]
    public async Task NonAdministrator_CannotCreateOrDelete_ButMayLookUp()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient root = await daemon.ConnectAsync();
        ulong token = await root.CreatePersistentAsync(PortReservationProtocol.Tcp, 5000, 10, cancellationToken: TestContext.Current.CancellationToken).WithTimeout();

        (int addExit, string addOutput) = await AsNobody(daemon, Artifacts.Cli, "add", "--protocol", "tcp", "--start", "6000", "--count", "1");
        (int deleteExit, string deleteOutput) = await AsNobody(daemon, Artifacts.Cli, "delete", "--protocol", "tcp", "--start", "5000", "--count", "10");
        (int lookupExit, string lookupOutput) = await AsNobody(daemon, Artifacts.Cli, "lookup", "--protocol", "tcp", "--start", "5000", "--count", "10");
        (int showExit, string showOutput) = await AsNobody(daemon, Artifacts.Cli, "show", "--json");

        Assert.Equal(4, addExit);
        Assert.StartsWith("portreserve: AccessDenied: uid 65534 may not create", addOutput, StringComparison.Ordinal);
        Assert.Equal(4, deleteExit);
        Assert.StartsWith("portreserve: AccessDenied", deleteOutput, StringComparison.Ordinal);
        Assert.Equal(0, lookupExit);
        Assert.Equal(token.ToString(CultureInfo.InvariantCulture), lookupOutput.Trim());
        Assert.Equal(0, showExit);
        Assert.Contains("\"token\":null", showOutput);
        Assert.True(KernelList.ContainsAll(5000, 5009));
    }

    [Fact(Timeout = 60_000)]
    public async Task AdminGroupMember_MayCreateAndDelete_ByPrimaryOrSupplementaryGroup()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync("", "--admin-group", "nogroup");

        (int primaryExit, string primaryOutput) = await OtherUser.RunAsync(OtherUser.Stranger, 65534, Artifacts.Cli, ["add", "--protocol", "udp", "--start", "7000", "--count", "2"], daemon.ClientEnvironment);
        (int supplementaryExit, string supplementaryOutput) = await OtherUser.RunAsync(OtherUser.Stranger, 100, Artifacts.Cli, ["delete", "--protocol", "udp", "--start", "7000", "--count", "2"], daemon.ClientEnvironment, [65534]);

        Assert.True(primaryExit == 0, primaryOutput);
        Assert.True(supplementaryExit == 0, supplementaryOutput);
        Assert.False(KernelList.ContainsAny(7000, 7001));
    }

    [Fact(Timeout = 60_000)]
    public async Task AllowedUser_BindsFromTheReservation_WhileAnotherUnprivilegedUserIsRefused()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        (int addExit, string tokenText) = await ChildProcess.RunAsync(Artifacts.Cli, ["add", "--protocol", "tcp", "--start", "8080", "--count", "3", "--allow-user", "nobody"], daemon.ClientEnvironment);
        Assert.True(addExit == 0, tokenText);
        string token = tokenText.Trim();

        (int allowedExit, string allowed) = await AsNobody(daemon, Artifacts.Peer, "bind", token, "tcp");
        (int refusedExit, string refused) = await OtherUser.RunAsync(OtherUser.Stranger, OtherUser.Stranger, Artifacts.Peer, ["bind", token, "tcp"], daemon.ClientEnvironment);

        Assert.True(allowedExit == 0, allowed);
        Assert.InRange(int.Parse(allowed.Split(' ')[1], CultureInfo.InvariantCulture), 8080, 8082);
        Assert.Equal(1, refusedExit);
        Assert.StartsWith("error AccessDenied", refused, StringComparison.Ordinal);
        (_, string listing) = await ChildProcess.RunAsync(Artifacts.Cli, ["show"], daemon.ClientEnvironment);
        Assert.Contains("user nobody(65534)", listing);
    }

    [Fact(Timeout = 60_000)]
    public async Task AllowedGroup_MemberBindsFromTheReservation()
    {
        Assert.SkipUnless(OtherUser.CanSwitch, "needs real root to run clients under other uids");
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient root = await daemon.ConnectAsync();
        var options = new PersistentReservationOptions();
        options.AllowedGroups.Add("nogroup");
        ulong token = await root.CreatePersistentAsync(PortReservationProtocol.Udp, 9100, 2, options, TestContext.Current.CancellationToken).WithTimeout();

        (int exit, string output) = await OtherUser.RunAsync(OtherUser.Stranger, 100, Artifacts.Peer, ["bind", token.ToString(CultureInfo.InvariantCulture), "udp"], daemon.ClientEnvironment, [65534]);

        Assert.True(exit == 0, output);
    }

    private static Task<(int ExitCode, string Output)> AsNobody(DaemonProcess daemon, string executable, params string[] arguments)
        => OtherUser.RunAsync(OtherUser.Nobody, OtherUser.Nobody, executable, arguments, daemon.ClientEnvironment);
}
