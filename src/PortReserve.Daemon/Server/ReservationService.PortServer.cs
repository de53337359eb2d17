using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Reservations;

namespace PortReserve.Daemon.Server;

internal sealed partial class ReservationService
{
    /// <summary>
    /// Grants one port free on both TCP and UDP to the process in <paramref name="owner"/> (portserver protocol); the
    /// reply may go out once this completes, when the kernel list holds both reservations.
    /// </summary>
    public async Task<TableResult> GrantPortAsync(ReservationOwner owner)
    {
        TableResult result;
        KernelCommit committed;
        lock (Gate)
        {
            result = Table.AcquireBoth(1, owner);
            if (!result.Succeeded)
            {
                _metrics?.OnRefused(result.Error!.Value);
                DaemonLog.GrantRefused(logger, owner.Pid, owner.Uid, result.Message!);
                return result;
            }

            committed = RequestCommit();
        }

        if (await WaitForKernelAsync(committed).ConfigureAwait(false) is { } failure)
        {
            ReleaseConnection(owner.ConnectionId);
            return failure;
        }

        _metrics?.OnGranted();
        _metrics?.OnAcquired(2);
        DaemonLog.Granted(logger, result.Reservation!.Range.Start, owner.Pid, owner.Uid);
        return result;
    }

    /// <summary>A portserver request that was not a live pid (counted with the other refusals).</summary>
    public void GrantRequestRefused() => _metrics?.OnRefused(PortReservationErrorKind.InvalidArgument);

    /// <summary>The process a grant was made for has exited: its ports go back at once.</summary>
    public void GrantHolderExited(long grantId) => ReleaseConnection(grantId);
}
