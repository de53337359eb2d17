namespace PortReserve.Daemon.Reservations;

/// <summary>
/// The reservations by token: issues new tokens (non-zero, unguessable, unique among those placed) and finds a visible
/// reservation by its token. A pending persistent reservation has a token but is not found by it until published.
/// </summary>
internal sealed class TokenIndex(Func<ulong> tokenSource)
{
    private readonly Dictionary<ulong, Reservation> _byToken = [];

    /// <summary>Every visible reservation.</summary>
    public IEnumerable<Reservation> Visible => _byToken.Values.Where(r => !r.IsPending);

    public ulong NewToken()
    {
        ulong token;
        do
        {
            token = tokenSource();
        }
        while (token == 0 || _byToken.ContainsKey(token));

        return token;
    }

    public Reservation? Find(ulong token) => token != 0 && _byToken.TryGetValue(token, out Reservation? r) && !r.IsPending ? r : null;

    /// <summary>Whether <paramref name="token"/> is placed (pending or visible).</summary>
    public bool IsTaken(ulong token) => _byToken.ContainsKey(token);

    public void Add(Reservation reservation) => _byToken.Add(reservation.Token, reservation);

    /// <summary>True while this very reservation is placed (pending or visible).</summary>
    public bool Contains(Reservation reservation) => _byToken.TryGetValue(reservation.Token, out Reservation? placed) && ReferenceEquals(placed, reservation);

    public void Remove(Reservation reservation) => _byToken.Remove(reservation.Token);
}
