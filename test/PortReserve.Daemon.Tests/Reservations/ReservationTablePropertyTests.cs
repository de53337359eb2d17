using PortReserve.Daemon.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Reservations;

/// <summary>Long random sequences of operations on the table, each checked against <see cref="ReservationTableModel"/>.</summary>
public sealed class ReservationTablePropertyTests
{
    private static readonly PortRange s_wildcard = new(1100, 150);
    private static readonly PortReservationProtocol[] s_protocols = [PortReservationProtocol.Tcp, PortReservationProtocol.Udp];

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 12)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomOperations_AgreeWithModel(int seed)
    {
        var random = new Random(seed);
        var usage = new FakePortUsage();
        var table = new ReservationTable(s_wildcard, QuotaPolicy.Unlimited, usage);
        var model = new ReservationTableModel(s_wildcard);
        AddSystemExclusions(random, table, model);

        for (int step = 0; step < 4000; step++)
        {
            int dice = random.Next(100);
            string operation = dice switch
            {
                < 35 => AcquireSpecific(random, table, model, usage),
                < 60 => AcquireWildcard(random, table, model, usage),
                < 80 => Release(random, table, model),
                < 88 => CloseConnection(random, table, model),
                _ => ToggleInUse(random, usage),
            };

            AssertAgree(table, model, $"seed {seed}, step {step}: {operation}");
        }
    }

    private static void AddSystemExclusions(Random random, ReservationTable table, ReservationTableModel model)
    {
        var excluded = new PortSet();
        for (int i = 0; i < 3; i++)
        {
            var range = new PortRange(random.Next(1000, 1290), random.Next(1, 4));
            excluded.Add(range);
            model.System.UnionWith(Enumerable.Range(range.Start, range.Count));
        }

        table.AddSystemExclusions(excluded);
    }

    private static string AcquireSpecific(Random random, ReservationTable table, ReservationTableModel model, FakePortUsage usage)
    {
        PortReservationProtocol protocol = s_protocols[random.Next(2)];
        var range = new PortRange(random.Next(1000, 1300), random.Next(1, 12));
        (long connection, int pid) = RandomOwner(random);
        Refusable<Reservation> result = table.Acquire(protocol, range.Start, range.Count, Holders.Owner(connection, pid, 1000));
        bool expected = model.IsFree(protocol, range, usage);
        result.TryGet(out _, out Refusal? refusal);
        Assert.True(expected == result.Succeeded(), $"specific {protocol} {range}: model says free={expected}, table said {refusal?.Kind} {refusal?.Message}");
        if (result.Succeeded())
        {
            Assert.Equal(range, result.Granted().Block.Range);
            model.Add(result.Granted().Token, protocol, range, connection, pid);
        }
        else
        {
            Assert.Equal(PortReservationErrorKind.AddressAlreadyInUse, result.Refused().Kind);
        }

        return $"acquire {protocol} {range}";
    }

    private static string AcquireWildcard(Random random, ReservationTable table, ReservationTableModel model, FakePortUsage usage)
    {
        PortReservationProtocol protocol = s_protocols[random.Next(2)];
        int count = random.Next(1, 20);
        (long connection, int pid) = RandomOwner(random);
        Refusable<Reservation> result = table.Acquire(protocol, 0, count, Holders.Owner(connection, pid, 1000));
        if (result.Succeeded())
        {
            PortRange range = result.Granted().Block.Range;
            Assert.Equal(count, range.Count);
            Assert.True(s_wildcard.Contains(range.Start) && s_wildcard.Contains(range.End), $"wildcard block {range} outside {s_wildcard}");
            Assert.True(model.IsFree(protocol, range, usage), $"wildcard block {range} is not free in the model");
            model.Add(result.Granted().Token, protocol, range, connection, pid);
        }
        else
        {
            Assert.Equal(PortReservationErrorKind.NoBufferSpaceAvailable, result.Refused().Kind);
            Assert.False(model.AnyFreeBlock(protocol, count, usage), $"table found no {count}-port block but the model has one");
        }

        return $"acquire {protocol} any {count}";
    }

    private static string Release(Random random, ReservationTable table, ReservationTableModel model)
    {
        if (model.Live.Count == 0 || random.Next(10) == 0)
        {
            ulong bogus = (ulong)random.NextInt64(1, long.MaxValue);
            Assert.Equal(PortReservationErrorKind.InvalidArgument, table.Release(bogus, 1).Refused().Kind);
            return "release unknown token";
        }

        ulong token = model.Live.Keys.ElementAt(random.Next(model.Live.Count));
        int ownerPid = model.Live[token].Pid;
        int requester = random.Next(4) == 0 ? ownerPid + 1 : ownerPid;
        Refusable<Reservation> result = table.Release(token, requester);
        if (requester == ownerPid)
        {
            Assert.True(result.Succeeded());
            model.Remove(token);
        }
        else
        {
            Assert.Equal(PortReservationErrorKind.AccessDenied, result.Refused().Kind);
        }

        return $"release by {(requester == ownerPid ? "owner" : "stranger")}";
    }

    private static string CloseConnection(Random random, ReservationTable table, ReservationTableModel model)
    {
        long connection = random.Next(1, 6);
        table.ReleaseHolder(Holders.Holder(connection));
        foreach (ulong token in model.Live.Where(kv => kv.Value.Connection == connection).Select(kv => kv.Key).ToList())
        {
            model.Remove(token);
        }

        return $"close connection {connection}";
    }

    private static string ToggleInUse(Random random, FakePortUsage usage)
    {
        (PortReservationProtocol, int) port = (s_protocols[random.Next(2)], random.Next(1000, 1300));
        if (!usage.InUse.Remove(port))
        {
            usage.InUse.Add(port);
        }

        return $"toggle in-use {port}";
    }

    private static (long Connection, int Pid) RandomOwner(Random random)
    {
        long connection = random.Next(1, 6);
        return (connection, (int)connection * 10);
    }

    private static void AssertAgree(ReservationTable table, ReservationTableModel model, string context)
    {
        Assert.True(model.Live.Count == table.Reservations.Count(), $"{context}: table holds {table.Reservations.Count()}, model {model.Live.Count}");
        foreach (Reservation r in table.Reservations)
        {
            Assert.True(model.Live.TryGetValue(r.Token, out var expected), $"{context}: table has unknown token");
            Assert.Equal((expected.Protocol, expected.Range), (r.Block.Protocol, r.Block.Range));
        }

        var kernel = new PortSet();
        table.CopyKernelPorts(kernel, new PortSet());
        SortedSet<int> expectedPorts = model.KernelPorts();
        IEnumerable<int> actualPorts = kernel.Ranges().SelectMany(r => Enumerable.Range(r.Start, r.Count));
        Assert.True(expectedPorts.SetEquals(actualPorts), $"{context}: kernel ports differ from the model");
    }
}
