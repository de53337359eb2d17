using PortReserve.Protocol;

namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The machine's reservation table: per-protocol occupancy, ownership, tokens and quotas. Pure logic with no I/O
/// besides the injected <see cref="IPortUsage"/> probe; the caller serialises access.
/// </summary>
internal sealed partial class ReservationTable
{
    private readonly Dictionary<ulong, Reservation> _byToken = [];
    private readonly Dictionary<long, List<Reservation>> _byConnection = [];
    private readonly Dictionary<uint, UidUsage> _usageByUid = [];
    private readonly ProtocolSpace _tcp = new();
    private readonly ProtocolSpace _udp = new();
    private readonly IPortUsage _portUsage;
    private readonly Func<ulong> _tokenSource;

    public ReservationTable(PortRange wildcardRange, QuotaPolicy quotas, IPortUsage portUsage, Func<ulong>? tokenSource = null)
    {
        if (!wildcardRange.IsValid)
        {
            throw new ArgumentOutOfRangeException(nameof(wildcardRange), wildcardRange, "wildcard range must lie within 1-65535");
        }

        WildcardRange = wildcardRange;
        Quotas = quotas;
        _portUsage = portUsage;
        _tokenSource = tokenSource ?? new TokenSource().Next;
    }

    public PortRange WildcardRange { get; }

    public QuotaPolicy Quotas { get; }

    public int Count => _byToken.Count;

    public int RuntimeCount { get; private set; }

    public IEnumerable<Reservation> Reservations => _byToken.Values;

    /// <summary>The connections (and portserver grants) that hold runtime reservations.</summary>
    public IEnumerable<long> RuntimeConnectionIds => _byConnection.Keys;

    public Reservation? Find(ulong token) => _byToken.GetValueOrDefault(token);

    /// <summary>Releases a runtime reservation on behalf of <paramref name="requesterPid"/>, which must be its owner's pid.</summary>
    public TableResult Release(ulong token, int requesterPid)
    {
        if (token == 0 || !_byToken.TryGetValue(token, out Reservation? reservation))
        {
            return UnknownToken(token);
        }

        if (reservation.Kind == PortReservationKind.Persistent)
        {
            return TableResult.Fail(PortReservationErrorKind.InvalidArgument, $"token {token} names persistent reservation {reservation.Protocol.ToString().ToUpperInvariant()} {reservation.Range}, which is not released but deleted (portreserve delete)");
        }

        if (reservation.Owner!.Pid != requesterPid)
        {
            return NotOwner(token);
        }

        Remove(reservation);
        return TableResult.Ok(reservation);
    }

    /// <summary>Checks that <paramref name="requester"/> may associate sockets of <paramref name="protocol"/> with the token's block.</summary>
    public TableResult Authorize(ulong token, PortReservationProtocol? protocol, Requester requester)
    {
        if (token == 0 || !_byToken.TryGetValue(token, out Reservation? reservation))
        {
            return UnknownToken(token);
        }

        if (!reservation.MayBeUsedBy(requester))
        {
            return reservation.Owner is null
                ? TableResult.Fail(PortReservationErrorKind.AccessDenied, $"uid {requester.Uid} may not use persistent reservation {reservation.Protocol.ToString().ToUpperInvariant()} {reservation.Range}: only administrators and the users and groups allowed when it was created may (portreserve add --allow-user/--allow-group)")
                : NotOwner(token);
        }

        if (protocol is { } p && p != reservation.Protocol)
        {
            return TableResult.Fail(PortReservationErrorKind.InvalidArgument, $"token {token} reserves {reservation.Protocol.ToString().ToUpperInvariant()} ports; the socket is {p.ToString().ToUpperInvariant()}");
        }

        return TableResult.Ok(reservation);
    }

    /// <summary>Drops every runtime reservation acquired on a connection that closed; returns them.</summary>
    public IReadOnlyList<Reservation> ReleaseConnection(long connectionId)
    {
        if (!_byConnection.Remove(connectionId, out List<Reservation>? held))
        {
            return [];
        }

        foreach (Reservation reservation in held)
        {
            RemoveFromSpaces(reservation);
        }

        return held;
    }

    private static TableResult UnknownToken(ulong token)
        => TableResult.Fail(PortReservationErrorKind.InvalidArgument, $"token {token} does not name a live reservation");

    private static TableResult NotOwner(ulong token)
        => TableResult.Fail(PortReservationErrorKind.AccessDenied, $"token {token} belongs to another process; only the process that acquired a runtime reservation may use or release it");

    private void Add(Reservation reservation)
    {
        _byToken.Add(reservation.Token, reservation);
        Space(reservation.Protocol).Add(reservation);
        if (reservation.Owner is { } owner)
        {
            RuntimeCount++;
            if (!_byConnection.TryGetValue(owner.ConnectionId, out List<Reservation>? held))
            {
                _byConnection[owner.ConnectionId] = held = [];
            }

            held.Add(reservation);
            UidUsage usage = _usageByUid.TryGetValue(owner.Uid, out UidUsage? existing) ? existing : _usageByUid[owner.Uid] = new UidUsage();
            usage.Ports += reservation.Range.Count;
            usage.Reservations++;
        }
    }

    private void Remove(Reservation reservation)
    {
        if (reservation.Owner is { } owner && _byConnection.TryGetValue(owner.ConnectionId, out List<Reservation>? held))
        {
            held.Remove(reservation);
            if (held.Count == 0)
            {
                _byConnection.Remove(owner.ConnectionId);
            }
        }

        RemoveFromSpaces(reservation);
    }

    private void RemoveFromSpaces(Reservation reservation)
    {
        _byToken.Remove(reservation.Token);
        Space(reservation.Protocol).Remove(reservation);
        if (reservation.Owner is { } owner)
        {
            RuntimeCount--;
            UidUsage usage = _usageByUid[owner.Uid];
            usage.Ports -= reservation.Range.Count;
            if (--usage.Reservations == 0)
            {
                _usageByUid.Remove(owner.Uid);
            }
        }
    }

    private ProtocolSpace Space(PortReservationProtocol protocol) => protocol == PortReservationProtocol.Tcp ? _tcp : _udp;

    private ulong NewToken()
    {
        ulong token;
        do
        {
            token = _tokenSource();
        }
        while (token == 0 || _byToken.ContainsKey(token));

        return token;
    }

    private sealed class UidUsage
    {
        public int Ports { get; set; }

        public int Reservations { get; set; }
    }
}
