using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// The client continues a lone caller on the thread that read its reply. Whatever the caller's code does there (block on
/// another request of the same client, or hold the thread), replies keep being read: nothing deadlocks or waits on it.
/// </summary>
public sealed class ClientThreadingTests
{
    private const string ReaderThread = "PortReserve reader";

    [Fact(Timeout = 60_000)]
    public async Task CodeAfterAnAwait_WaitsSynchronouslyForAnotherRequest_GetsItsReply()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();

        (string? thread, bool answered) = await AcquireThenWaitSynchronouslyForAnotherAsync(client).WithTimeout();

        Assert.Equal(ReaderThread, thread);
        Assert.True(answered, "a request waited for synchronously after an await was never answered");
    }

    [Fact(Timeout = 60_000)]
    public async Task CodeAfterAnAwait_HoldsTheThread_OtherCallersStillGetTheirReplies()
    {
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        await using PortReservationClient client = await daemon.ConnectAsync();
        using var letGo = new ManualResetEventSlim();
        var holding = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);

        Task holder = HoldTheThreadAfterAnAcquireAsync(client, holding, letGo);
        string? heldThread = await holding.Task.WithTimeout();
        try
        {
            // The first caller's code now keeps the thread that read its reply until this caller is answered.
            for (int i = 0; i < 10; i++)
            {
                await using PortReservation other = await client.AcquireAsync(PortReservationProtocol.Udp, 0, 1, TestContext.Current.CancellationToken).WithTimeout();
                Assert.Equal(1, other.Count);
            }
        }
        finally
        {
            letGo.Set();
        }

        await holder.WithTimeout();
        Assert.Equal(ReaderThread, heldThread);
        PortReserveStatus status = await client.GetStatusAsync(TestContext.Current.CancellationToken).WithTimeout();
        Assert.Equal(0, status.RuntimeReservations);
    }

    private static async Task<(string? Thread, bool Answered)> AcquireThenWaitSynchronouslyForAnotherAsync(PortReservationClient client)
    {
        await using PortReservation first = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1).ConfigureAwait(false);
        string? thread = Thread.CurrentThread.Name;

        // Sync over async, from the thread that read the first reply: the second reply must be read by another.
        Task<PortReservation> second = client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1).AsTask();
        bool answered = second.Wait(TimeSpan.FromSeconds(20));
        if (answered)
        {
            await second.Result.DisposeAsync().ConfigureAwait(false);
        }

        return (thread, answered);
    }

    private static async Task HoldTheThreadAfterAnAcquireAsync(PortReservationClient client, TaskCompletionSource<string?> holding, ManualResetEventSlim letGo)
    {
        await using PortReservation reservation = await client.AcquireAsync(PortReservationProtocol.Tcp, 0, 1).ConfigureAwait(false);
        holding.SetResult(Thread.CurrentThread.Name);
        letGo.Wait(TimeSpan.FromSeconds(30));
    }
}
