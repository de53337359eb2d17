namespace PortReserve.Protocol;

/// <summary>The operation a frame carries. A reply has the request's type with <see cref="ReplyBit"/> set.</summary>
internal enum MessageType : byte
{
    Acquire = 1,
    Release = 2,
    Associate = 3,
    Show = 4,
    Status = 5,
    CreatePersistent = 6,
    LookupPersistent = 7,
    DeletePersistent = 8,
    ShareWithChildProcesses = 9,
    ReloadDeclarations = 10,

    /// <summary>A client that reconnected after a daemon restart takes back a runtime reservation by token (a <see cref="TokenRequest"/>).</summary>
    Reattach = 11,

    ReplyBit = 0x80,
}
