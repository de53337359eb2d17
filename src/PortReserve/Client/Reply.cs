namespace PortReserve.Protocol;

/// <summary>The payloads of a reply to one request (several when the listing spans frames), or its error.</summary>
internal sealed class Reply(PortReservationErrorKind? error)
{
    public PortReservationErrorKind? Error { get; } = error;

    public List<byte[]> Payloads { get; } = [];

    public byte[] Single => Payloads.Count == 1 ? Payloads[0] : throw new ProtocolException($"expected one reply frame, got {Payloads.Count}");

    /// <summary>Throws the error the daemon reported, with its message.</summary>
    public Reply ThrowIfError()
    {
        if (Error is { } kind)
        {
            var reader = new FrameReader(Single);
            string message = reader.ReadString();
            throw new PortReservationException(kind, message);
        }

        return this;
    }
}
