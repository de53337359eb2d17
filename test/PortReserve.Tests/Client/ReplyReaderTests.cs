using PortReserve.Protocol;

namespace PortReserve.Tests.Client;

/// <summary>
/// The reader's hand-over (<c>ReplyReader</c>): a lone caller's code runs on the reader thread, and when that code keeps
/// the thread, another takes over reading, and the kept one reads no more once it is given back.
/// </summary>
public sealed class ReplyReaderTests
{
    private const string ReaderThread = "PortReserve reader";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task CodeThatKeepsTheReaderThread_IsLeftIt_WhileAnotherThreadReadsTheNextReply_AndItReadsNoMore()
    {
        await using var daemon = new FakeDaemon();
        await using PortReservationClient client = await daemon.ConnectClientAsync();
        using var release = new ManualResetEventSlim();
        var kept = new TaskCompletionSource<(string? Name, int Id)>(TaskCreationOptions.RunContinuationsAsynchronously);

        // The first reply finds no other caller waiting, so the code after its await runs on the reader, and keeps it.
        // That code is waiting before the reply is sent: the acquire is still unanswered when KeepTheThreadAsync awaits it.
        Task first = KeepTheThreadAsync(client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken), kept, release);
        await Answer(daemon, token: 1);
        (string? keptName, int keptThread) = await kept.Task.WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        // Another caller's reply is read while the first's code still holds the thread it ran on.
        Task<(PortReservation Reservation, int Thread)> second = AcquireNotingTheThreadAsync(client);
        await Answer(daemon, token: 2);
        (PortReservation secondReservation, int secondThread) = await second.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        bool firstStillKept = !first.IsCompleted;

        // Given back, the kept thread leaves: the next lone reply is read, and its code run, by the reader that took over.
        release.Set();
        (FrameHeader releaseOfFirst, _) = await daemon.ReceiveAsync();
        await daemon.AcknowledgeAsync(releaseOfFirst);
        await first.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Task<(PortReservation Reservation, int Thread)> third = AcquireNotingTheThreadAsync(client);
        await Answer(daemon, token: 3);
        (PortReservation thirdReservation, int thirdThread) = await third.WaitAsync(s_timeout, TestContext.Current.CancellationToken);

        Assert.Equal(ReaderThread, keptName);
        Assert.True(firstStillKept, "the second reply waited for the first caller's code to give the reader back");
        Assert.Equal((2UL, 3UL), (secondReservation.Token, thirdReservation.Token));
        Assert.NotEqual(keptThread, secondThread);
        Assert.NotEqual(keptThread, thirdThread);
    }

    private static async Task KeepTheThreadAsync(ValueTask<PortReservation> acquiring, TaskCompletionSource<(string? Name, int Id)> kept, ManualResetEventSlim release)
    {
        await using PortReservation reservation = await acquiring.ConfigureAwait(false);
        kept.SetResult((Thread.CurrentThread.Name, Environment.CurrentManagedThreadId));
        release.Wait(s_timeout, TestContext.Current.CancellationToken);
    }

    private static async Task<(PortReservation Reservation, int Thread)> AcquireNotingTheThreadAsync(PortReservationClient client)
    {
        PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1, TestContext.Current.CancellationToken);
        return (reservation, Environment.CurrentManagedThreadId);
    }

    private static async Task Answer(FakeDaemon daemon, ulong token)
    {
        (FrameHeader request, _) = await daemon.ReceiveAsync();
        await daemon.GrantAsync(request, new PortBlock(PortReservationProtocol.Tcp, 40000 + (int)token, 1), token);
    }
}
