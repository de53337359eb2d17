using Microsoft.Extensions.Logging.Abstractions;
using PortReserve.Daemon.Kernel;
using PortReserve.Daemon.Kernel.Bpf;
using PortReserve.Daemon.Reservations;
using PortReserve.Daemon.Tests.Reservations;
using PortReserve.Protocol;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>
/// The bind-hook sink when the kernel refuses map writes at random points: it keeps its own record whole, fails the
/// rounds it could not write, and once the kernel takes writes again its maps hold exactly what a sink that never met a
/// failure holds. Real maps, loaded but never attached (no bind on the machine is judged by them); root only.
/// </summary>
public sealed class ExclusiveBindsRecoveryTests : IDisposable
{
    private readonly ExclusiveBindsSink _faulty;
    private readonly ExclusiveBindsSink _reference;
    private readonly ReservationTable _table = new(new PortRange(40000, 300), QuotaPolicy.Unlimited, new FakePortUsage(), recordChanges: true);
    private readonly KernelSnapshot _snapshot = new();

    public ExclusiveBindsRecoveryTests()
    {
        Assert.SkipWhen(BpfAbility.CannotLoad is not null, BpfAbility.CannotLoad ?? string.Empty);
        _faulty = ExclusiveBindsSink.Open(ExclusiveBindsMode.On, adminGroupId: null, pinDirectory: null, TimeSpan.FromMinutes(5), NullLogger.Instance);
        _reference = ExclusiveBindsSink.Open(ExclusiveBindsMode.On, adminGroupId: null, pinDirectory: null, TimeSpan.FromMinutes(5), NullLogger.Instance);
    }

    public void Dispose()
    {
        _faulty?.Dispose();
        _reference?.Dispose();
    }

    [Fact]
    public void ARefusedWrite_FailsTheRound_AndTheNextRoundRewritesTheMapsWhole()
    {
        ReservationOwner owner = Owner(1);
        _table.Acquire(PortReservationProtocol.Tcp, 40010, 2, owner).Granted();
        Maps(_faulty).InjectFailure = map => map == "runtime";

        IOException refused = Assert.Throws<IOException>(() => ApplyChanges());
        bool driftedAfterTheFailure = _faulty.Drifted();
        Maps(_faulty).InjectFailure = null;
        ApplyChanges();

        Assert.Contains("runtime", refused.Message, StringComparison.Ordinal);
        Assert.True(driftedAfterTheFailure);
        Assert.False(_faulty.Drifted());
        AssertSameMaps();
    }

    /// <summary>
    /// Randomised: runtime holders acquire, share a process tree, lose their process and go; portserver grants come and
    /// go; persistent reservations are placed, redeclared, used and deleted; meanwhile a quarter of the hash map writes
    /// fail. After one round without faults, the maps equal the reference's, entry for entry.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void UnderRandomMapFailures_TheMapsConvergeOnWhatAFaultlessSinkWrote(int seed)
    {
        var random = new Random(seed);
        Maps(_faulty).InjectFailure = _ => random.Next(4) == 0;
        var runtime = new List<(Reservation Reservation, int Client)>();
        var persistent = new List<Reservation>();
        int failedRounds = 0;
        for (int step = 0; step < 400; step++)
        {
            int client = 1 + random.Next(6);
            switch (random.Next(9))
            {
                case 0 or 1:
                    if (_table.Acquire(PortReservationProtocol.Tcp, 0, 1 + random.Next(4), Owner(client)).TryGet(out Reservation? acquired, out _))
                    {
                        runtime.Add((acquired, client));
                    }

                    break;
                case 2 when runtime.Count > 0:
                    (Reservation held, int holder) = runtime[random.Next(runtime.Count)];
                    runtime.Remove((held, holder));
                    _table.Release(held.Token, 100 + holder);
                    break;
                case 3:
                    runtime.RemoveAll(entry => entry.Client == client);
                    _table.ReleaseHolder(Holders.Holder(client));
                    break;
                case 4:
                    _table.AssignProcessTree(Holders.Holder(client), 100 + client, new ProcessTree((ulong)(5000 + random.Next(50)), 1 + random.Next(3)));
                    break;
                case 5:
                    _table.HolderProcessExited(Holders.Holder(client));
                    break;
                case 6:
                    _table.AcquireBothConfirmed(1, Holders.Owner(-client, 200 + client, 1000, exclusive: false));
                    break;
                case 7 when persistent.Count > 0 && random.Next(2) == 0:
                    Reservation gone = persistent[random.Next(persistent.Count)];
                    persistent.Remove(gone);
                    _table.Remove(gone);
                    break;
                case 7:
                    if (_table.CreatePersistent(PortReservationProtocol.Udp, new PortRange(41000 + random.Next(500), 1), Consumers(random)).TryGet(out Reservation? placed, out _))
                    {
                        persistent.Add(placed);
                    }

                    break;
                case 8 when persistent.Count > 0:
                    Reservation used = persistent[random.Next(persistent.Count)];
                    if (random.Next(2) == 0)
                    {
                        _table.Authorize(used.Token, null, new Principal(100 + client, (ulong)(100 + client), 0, 0, [0], IsAdministrator: true), Holders.Holder(client));
                    }
                    else
                    {
                        _table.Redeclare(used, Consumers(random), $"test.conf:{step}");
                    }

                    break;
            }

            try
            {
                ApplyChanges();
            }
            catch (IOException)
            {
                failedRounds++;
            }
        }

        Maps(_faulty).InjectFailure = null;
        ApplyChanges();

        Assert.True(failedRounds > 0, "no round failed: the faults were not injected");
        Assert.False(_faulty.Drifted());
        AssertSameMaps();
    }

    private static ReservationOwner Owner(int client) => Holders.Owner(client, 100 + client, 1000);

    private static PersistentConsumers Consumers(Random random)
        => new([.. Enumerable.Range(0, random.Next(3)).Select(i => new Consumer((uint)(2000 + random.Next(5)), $"user{i}")).DistinctBy(c => c.Id)], [.. Enumerable.Range(0, random.Next(2)).Select(i => new Consumer((uint)(3000 + random.Next(3)), $"group{i}"))])
        {
            GroupMemberUids = [.. Enumerable.Range(0, random.Next(2)).Select(_ => (uint)(2000 + random.Next(5)))],
        };

    private static BindHookMaps Maps(ExclusiveBindsSink sink) => sink.Maps ?? throw new InvalidOperationException("the sink has no maps");

    /// <summary>The table's changes since the last call, to both sinks: the faulty one's failure is thrown after the reference took them.</summary>
    private void ApplyChanges()
    {
        _snapshot.Changes.Clear();
        _table.TakeChanges(_snapshot.Changes);
        _reference.Apply(_snapshot);
        _faulty.Apply(_snapshot);
    }

    private void AssertSameMaps()
    {
        BindHookMaps faulty = Maps(_faulty);
        BindHookMaps reference = Maps(_reference);
        foreach (PortReservationProtocol protocol in (PortReservationProtocol[])[PortReservationProtocol.Tcp, PortReservationProtocol.Udp])
        {
            for (int port = 0; port <= 65535; port++)
            {
                Assert.True(reference.GetPort(protocol, port) == faulty.GetPort(protocol, port), $"{protocol} port {port}: policy {faulty.GetPort(protocol, port)}, expected {reference.GetPort(protocol, port)}");
            }
        }

        for (uint id = 1; id < BindHookLayout.PolicyEntries; id++)
        {
            Assert.True(reference.PolicyBytes(id).AsSpan().SequenceEqual(faulty.PolicyBytes(id)), $"policy {id} differs");
        }

        Assert.Equal(Dump(reference.Allow, BindHookLayout.AllowKeySize, 1), Dump(faulty.Allow, BindHookLayout.AllowKeySize, 1));
        Assert.Equal(Dump(reference.Live, sizeof(uint), 1), Dump(faulty.Live, sizeof(uint), 1));
        Assert.Equal(Dump(reference.Runtime, RuntimeRecord.KeySize, RuntimeRecord.ValueSize), Dump(faulty.Runtime, RuntimeRecord.KeySize, RuntimeRecord.ValueSize));
    }

    private static List<string> Dump(Microsoft.Win32.SafeHandles.SafeFileHandle map, int keySize, int valueSize)
        => [.. BindHookMaps.Entries(map, keySize, valueSize).Select(entry => $"{Convert.ToHexString(entry.Key)}={Convert.ToHexString(entry.Value)}").Order(StringComparer.Ordinal)];
}
