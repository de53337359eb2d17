using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortReserve.Protocol;

namespace PortReserve.Daemon;

/// <summary>Every log line the daemon writes, with stable event ids.</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1, LogLevel.Information, "portreserved {Version} listening on {SocketPath}; state in {StateDirectory}; kernel sync {KernelSync}; exclusive binds {ExclusiveBinds}; wildcard range {WildcardRange}")]
    public static partial void Started(ILogger logger, string version, string socketPath, string stateDirectory, string kernelSync, string exclusiveBinds, PortRange wildcardRange);

    [LoggerMessage(2, LogLevel.Information, "portreserved stopping: {Runtime}")]
    public static partial void Stopping(ILogger logger, string runtime);

    [LoggerMessage(10, LogLevel.Information, "acquired {Block} for pid {Pid} uid {Uid}")]
    public static partial void Acquired(ILogger logger, PortBlock block, int pid, uint uid);

    [LoggerMessage(11, LogLevel.Information, "released {Block} at the request of pid {Pid} uid {Uid}")]
    public static partial void Released(ILogger logger, PortBlock block, int pid, uint uid);

    [LoggerMessage(12, LogLevel.Information, "released {Block} of pid {Pid} uid {Uid}: its {Holder} went away")]
    public static partial void ReleasedWithHolder(ILogger logger, PortBlock block, int pid, uint uid, string holder);

    [LoggerMessage(18, LogLevel.Information, "pid {Pid} uid {Uid} shares its runtime reservations with the processes it starts (cgroup {Cgroup})")]
    public static partial void ProcessTreeShared(ILogger logger, int pid, uint uid, ulong cgroup);

    [LoggerMessage(13, LogLevel.Information, "created persistent {Block} for uid {Uid} (pid {Pid}); consumers: {Consumers}")]
    public static partial void PersistentCreated(ILogger logger, PortBlock block, int pid, uint uid, string consumers);

    [LoggerMessage(14, LogLevel.Information, "deleted persistent {Block} for uid {Uid} (pid {Pid})")]
    public static partial void PersistentDeleted(ILogger logger, PortBlock block, int pid, uint uid);

    [LoggerMessage(15, LogLevel.Information, "restored {Count} persistent reservation(s) from {Path}; administrators: {Administrators}")]
    public static partial void PersistentRestored(ILogger logger, int count, string path, string administrators);


    [LoggerMessage(46, LogLevel.Error, "writing the persistent store {Path} failed; the change was refused")]
    public static partial void StoreWriteFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(16, LogLevel.Information, "granted port {Port} (TCP and UDP) to pid {Pid} for uid {Uid} through the portserver endpoint")]
    public static partial void Granted(ILogger logger, int port, int pid, uint uid);

    [LoggerMessage(17, LogLevel.Information, "portserver endpoint listening on {Address}")]
    public static partial void PortServerListening(ILogger logger, string address);





    [LoggerMessage(20, LogLevel.Warning, "refused to {Operation} for pid {Pid} uid {Uid}: {Kind}: {Reason}")]
    public static partial void Refused(ILogger logger, string operation, int pid, uint uid, PortReservationErrorKind kind, string reason);

    [LoggerMessage(23, LogLevel.Warning, "closing connection {ConnectionId} of pid {Pid} uid {Uid}: protocol violation: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, long connectionId, int pid, uint uid, string reason);

    [LoggerMessage(26, LogLevel.Warning, "refused a connection from pid {Pid} uid {Uid}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, int pid, uint uid, string reason);

    [LoggerMessage(28, LogLevel.Information, "pid {Pid} exited, but connection {ConnectionId} it opened lives on in another process: what pid {Pid} was allowed to bind is revoked, the connection's reservations stay until it closes")]
    public static partial void HolderProcessExited(ILogger logger, int pid, long connectionId);

    [LoggerMessage(27, LogLevel.Warning, "{Count} more line(s) about requests of uid {Uid} were not logged: at most {Lines} lines per uid every {Seconds} s (the metrics count every request)")]
    public static partial void RefusalsSuppressed(ILogger logger, int count, uint uid, int lines, double seconds);

    [LoggerMessage(30, LogLevel.Debug, "connection {ConnectionId} opened by pid {Pid} uid {Uid}")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, int pid, uint uid);

    [LoggerMessage(31, LogLevel.Debug, "connection {ConnectionId} of pid {Pid} closed")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, int pid);

    [LoggerMessage(32, LogLevel.Debug, "connection {ConnectionId} failed: {Error}")]
    public static partial void ConnectionError(ILogger logger, long connectionId, string error);

    [LoggerMessage(33, LogLevel.Warning, "accept failed: {Error}; retrying")]
    public static partial void AcceptFailed(ILogger logger, string error);

    [LoggerMessage(35, LogLevel.Error, "waiting for events failed: {Error}; retrying")]
    public static partial void EventLoopFailed(ILogger logger, string error);

    [LoggerMessage(36, LogLevel.Error, "an event handler failed unexpectedly; the event loop goes on serving the other clients")]
    public static partial void EventLoopHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(34, LogLevel.Error, "request on connection {ConnectionId} failed unexpectedly")]
    public static partial void UnexpectedRequestFailure(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(40, LogLevel.Warning, "kernel sync off: {Path} is not writable ({Reason}); reservations are not enforced in the kernel (use --kernel-sync on to require it)")]
    public static partial void KernelSyncUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(47, LogLevel.Warning, "exclusive binds off: {Reason}; anyone may bind reserved ports by number (use --exclusive-binds on to require them)")]
    public static partial void ExclusiveBindsUnavailable(ILogger logger, string reason);

    [LoggerMessage(41, LogLevel.Warning, "cannot read {Path}: {Reason}; no system exclusions known")]
    public static partial void KernelListUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(42, LogLevel.Information, "removing entries left in the kernel list by an earlier run: {Ports}")]
    public static partial void RemovingStaleEntries(ILogger logger, string ports);

    [LoggerMessage(43, LogLevel.Information, "system exclusions in the kernel list (kept, never handed out): {Ports}")]
    public static partial void SystemExclusionsFound(ILogger logger, string ports);

    [LoggerMessage(44, LogLevel.Debug, "{Sink} written up to change {Version} in {Milliseconds:F3} ms")]
    public static partial void KernelListWritten(ILogger logger, string sink, long version, double milliseconds);

    [LoggerMessage(45, LogLevel.Error, "writing {Sink} failed; affected requests were refused and the next change rewrites it")]
    public static partial void KernelWriteFailed(ILogger logger, string sink, Exception exception);

    [LoggerMessage(50, LogLevel.Information, "reloading the reservations.d files for {Requester}")]
    public static partial void DeclarationsReloading(ILogger logger, string requester);

    [LoggerMessage(51, LogLevel.Warning, "reservations.d: {Problem}")]
    public static partial void DeclarationSkipped(ILogger logger, string problem);

    [LoggerMessage(52, LogLevel.Information, "declared reservations applied from {Files} file(s) in {Directories}: {Added} added, {Removed} removed, {Updated} updated, {Unchanged} unchanged, {Problems} line(s) skipped")]
    public static partial void DeclarationsApplied(ILogger logger, int files, string directories, int added, int removed, int updated, int unchanged, int problems);

    [LoggerMessage(53, LogLevel.Error, "declared reservations not applied: {Reason}")]
    public static partial void DeclarationsNotApplied(ILogger logger, string reason);

    [LoggerMessage(54, LogLevel.Warning, "detached the bind hooks an earlier portreserved left pinned in {Path} ({Names}): {Why}, and nothing would keep them up to date")]
    public static partial void StalePinsReleased(ILogger logger, string path, string names, string why);

    [LoggerMessage(55, LogLevel.Information, "restored {Restored} runtime reservation(s) of {Holders} holder(s) still alive from the daemon before this one; released {Released} of holders gone")]
    public static partial void RuntimeRestored(ILogger logger, int restored, int holders, int released);

    [LoggerMessage(56, LogLevel.Information, "released {Block} of pid {Pid} uid {Uid}: its process is gone (or is not the one that acquired it) since the daemon before this one")]
    public static partial void RuntimeNotRestored(ILogger logger, PortBlock block, int pid, uint uid);

    [LoggerMessage(57, LogLevel.Warning, "the runtime reservations the daemon before this one recorded are not restored: {Reason}; their holders are told they lost them when they reconnect")]
    public static partial void RuntimeRecordsNotRestored(ILogger logger, string reason);

    [LoggerMessage(58, LogLevel.Information, "released {Block} of pid {Pid} uid {Uid}: the daemon is stopping, and without the bind hooks nothing could keep it for the next start")]
    public static partial void ReleasedAtStop(ILogger logger, PortBlock block, int pid, uint uid);

    [LoggerMessage(59, LogLevel.Warning, "refused a bind to {Protocol} port {Port} by pid {Pid} ({Command}) uid {Uid}: {Holder}")]
    public static partial void BindRefused(ILogger logger, string protocol, int port, int pid, string command, uint uid, string holder);
}
