using System.Diagnostics;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests.Attacks;

/// <summary>
/// A daemon that does not answer (stopped with SIGSTOP, hung, swamped) costs a client its timeout, never its life: the
/// call fails with ServiceUnavailable and says so, and a grant that comes after the caller gave up is given back.
/// </summary>
public sealed class StoppedDaemonTests
{
    [Fact(Timeout = 60_000)]
    public async Task Cli_AgainstAStoppedDaemon_GivesUpAfterItsTimeout_WithExitStatus3()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        Signals.Send(daemon.Pid, Signals.SigStop);
        try
        {
            var clock = Stopwatch.StartNew();
            (int status, string statusOutput) = await ChildProcess.RunAsync(Artifacts.Cli, ["--timeout", "1", "status"], daemon.ClientEnvironment);
            (int run, string runOutput) = await ChildProcess.RunAsync(Artifacts.Cli, ["run", "--timeout", "1", "--tcp", "1", "--", "true"], daemon.ClientEnvironment);
            TimeSpan took = clock.Elapsed;

            Assert.True(status == 3, statusOutput);
            Assert.Contains("portreserve: ServiceUnavailable: portreserved at ", statusOutput);
            Assert.Contains("did not answer a Status request within 1 s", statusOutput);
            Assert.True(run == 3, runOutput);
            Assert.True(took < TimeSpan.FromSeconds(15), $"two 1 s timeouts took {took}");
        }
        finally
        {
            Signals.Send(daemon.Pid, Signals.SigCont);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Library_AcquireFromAStoppedDaemon_TimesOut_AndTheLateGrantIsGivenBack()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        var options = new PortReservationClientOptions { SocketPath = daemon.SocketPath, RequestTimeout = TimeSpan.FromSeconds(1) };
        await using PortReservationClient client = await PortReservationClient.ConnectAsync(options, TestContext.Current.CancellationToken).WithTimeout();
        Signals.Send(daemon.Pid, Signals.SigStop);
        PortReservationException timedOut;
        try
        {
            timedOut = await Assert.ThrowsAsync<PortReservationException>(() => client.AcquireAsync(PortReservationProtocol.Tcp, 5200, 1, TestContext.Current.CancellationToken).AsTask()).WithTimeout();
        }
        finally
        {
            Signals.Send(daemon.Pid, Signals.SigCont);
        }

        // Once the daemon goes on it grants the acquire it had read; the client, no longer waiting, gives it back.
        await Timeouts.Eventually(() => daemon.Log.Contains("acquired TCP 5200", StringComparison.Ordinal) && !KernelList.ContainsAny(5200, 5200), "the late grant is made and released");
        await using PortReservation again = await client.AcquireAsync(PortReservationProtocol.Tcp, 5200, 1, TestContext.Current.CancellationToken).WithTimeout();

        Assert.Equal(PortReservationErrorKind.ServiceUnavailable, timedOut.Kind);
        Assert.Equal(System.Net.Sockets.SocketError.NetworkDown, timedOut.SocketErrorCode);
        Assert.IsType<TimeoutException>(timedOut.Cause);
        Assert.Equal(5200, again.StartPort);
    }
}
