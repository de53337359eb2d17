using PortReserve.Declarations;

namespace PortReserve.Daemon.Tests.Declarations;

public sealed class DeclarationSetTests : IDisposable
{
    private static readonly HashSet<string> s_users = ["www-data", "alice", "1000"];
    private static readonly HashSet<string> s_groups = ["media", "web"];
    private readonly string _root = Directory.CreateTempSubdirectory("prt-decl-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void TheDocumentedExample_DeclaresThreeBlocks()
    {
        DeclarationSet set = Load("""
            # protocol  port or range   options
            tcp         8080            allow-user=www-data
            udp         5000-5019       allow-group=media
            tcp         9100-9101
            """);

        Assert.Empty(set.Problems);
        Assert.Collection(set.Blocks,
            b => Assert.Equal((PortReservationProtocol.Tcp, 8080, 1, "www-data", 2), (b.Protocol, b.Start, b.Count, Assert.Single(b.Users), b.Line)),
            b => Assert.Equal((PortReservationProtocol.Udp, 5000, 20, "media", 3), (b.Protocol, b.Start, b.Count, Assert.Single(b.Groups), b.Line)),
            b => Assert.Equal((PortReservationProtocol.Tcp, 9100, 2, 4), (b.Protocol, b.Start, b.Count, b.Line)));
        Assert.EndsWith("/a/10.conf:2", set.Blocks[0].Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_TakeCommaSeparatedNames_Repeat_AndDropDuplicates()
    {
        DeclarationSet set = Load("tcp 80 allow-user=www-data,alice allow-group=web allow-user=alice,1000\t allow-group=media # trailing comment");

        DeclaredBlock block = Assert.Single(set.Blocks);
        Assert.Equal(["www-data", "alice", "1000"], block.Users);
        Assert.Equal(["web", "media"], block.Groups);
    }

    [Theory]
    [InlineData("sctp 80", "'sctp' is not a protocol")]
    [InlineData("tcp", "tcp needs a port or range")]
    [InlineData("tcp 0", "0 is outside 1-65535")]
    [InlineData("tcp 65536", "65536 is outside 1-65535")]
    [InlineData("udp 1-99999999999999999999", "is outside 1-65535")]
    [InlineData("tcp 90-80", "runs backwards")]
    [InlineData("tcp 80-", "is not a port or range")]
    [InlineData("tcp -80", "is not a port or range")]
    [InlineData("tcp +80", "is not a port or range")]
    [InlineData("tcp 8o", "is not a port or range")]
    [InlineData("tcp 80 allow-users=alice", "'allow-users=alice' is not an option")]
    [InlineData("tcp 80 alice", "'alice' is not an option")]
    [InlineData("tcp 80 allow-user=", "allow-user= needs comma-separated names")]
    [InlineData("tcp 80 allow-group=web,,media", "allow-group= needs comma-separated names")]
    [InlineData("tcp 80 allow-user=nobody-here", "allow-user=nobody-here: no such user on this machine")]
    [InlineData("tcp 80 allow-group=nogroup-here", "allow-group=nogroup-here: no such group on this machine")]
    public void ABadLine_IsSkippedWithItsFileLineAndReason_WhileTheOthersApply(string line, string reason)
    {
        DeclarationSet set = Load($"tcp 1000\n{line}\nudp 2000\n");

        DeclarationProblem problem = Assert.Single(set.Problems);
        Assert.Equal(2, problem.Line);
        Assert.Contains(reason, problem.Reason, StringComparison.Ordinal);
        Assert.Matches(@"/a/10\.conf:2: ", problem.ToString());
        Assert.Equal([1000, 2000], set.Blocks.Select(b => b.Start));
    }

    [Fact]
    public void TooManyNames_AreRefused()
    {
        string users = string.Join(',', Enumerable.Range(0, DeclarationParser.MaxConsumers + 1).Select(i => $"u{i}"));

        Assert.Contains("at most 32 users", Assert.Single(Load($"tcp 80 allow-user={users}").Problems).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownName_KeepsTheBlockAsUnresolved_SoAnExistingReservationIsNotDroppedOverATypo()
    {
        DeclarationSet set = Load("tcp 80 allow-user=alcie");

        Assert.Empty(set.Blocks);
        Assert.Equal(80, Assert.Single(set.Unresolved).Start);
    }

    [Fact]
    public void OverlappingLines_TheEarlierInReadingOrderWins_AcrossFiles()
    {
        Write("a/10.conf", "tcp 8000-8010\nudp 8005\n");
        Write("a/20.conf", "tcp 8010-8020\ntcp 8021\n");

        DeclarationSet set = DeclarationSet.LoadDirectories([Path.Combine(_root, "a")], s_users.Contains, s_groups.Contains);

        DeclarationProblem problem = Assert.Single(set.Problems);
        Assert.Equal((Path.Combine(_root, "a/20.conf"), 1), (problem.File, problem.Line));
        Assert.Equal($"tcp 8010-8020 overlaps tcp 8000-8010 declared at {Path.Combine(_root, "a/10.conf")}:1; remove one of them", problem.Reason);
        Assert.Equal([8000, 8005, 8021], set.Blocks.Select(b => b.Start));
    }

    [Fact]
    public void Directories_LaterOneReplacesSameNamedFile_FilesReadInLexicalOrder_OnlyConf()
    {
        Write("usr/50-b.conf", "tcp 5000");
        Write("usr/60-pkg.conf", "tcp 6000");
        Write("usr/10-a.conf", "tcp 1000");
        Write("etc/60-pkg.conf", "tcp 6001");
        Write("etc/05-admin.conf", "tcp 500");
        Write("etc/notes.txt", "tcp 7000");
        Write("etc/.hidden.conf", "tcp 7001");
        Write("etc/70-x.conf.bak", "tcp 7002");
        File.CreateSymbolicLink(Path.Combine(_root, "etc/50-b.conf"), "/dev/null");

        DeclarationSet set = DeclarationSet.LoadDirectories([Path.Combine(_root, "usr"), Path.Combine(_root, "etc"), Path.Combine(_root, "missing")], s_users.Contains, s_groups.Contains);

        Assert.Empty(set.Problems);
        Assert.Equal(["etc/05-admin.conf", "usr/10-a.conf", "etc/50-b.conf", "etc/60-pkg.conf"], set.Files.Select(f => Path.GetRelativePath(_root, f)));
        Assert.Equal([500, 1000, 6001], set.Blocks.Select(b => b.Start));
    }

    [Fact]
    public void AFifoAndADeviceAreProblems_AsIsAnOversizedFile_NeverAHang()
    {
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        Assert.Equal(0, Mkfifo(Path.Combine(_root, "a/10-fifo.conf"), 0x180));
        File.CreateSymbolicLink(Path.Combine(_root, "a/15-zero.conf"), "/dev/zero");
        Write("a/20-big.conf", new string('#', (int)DeclarationSet.MaxFileBytes + 1));
        Write("a/30-ok.conf", "tcp 80");

        DeclarationSet set = DeclarationSet.LoadDirectories([Path.Combine(_root, "a")], s_users.Contains, s_groups.Contains);

        Assert.Equal(
            ["is not a regular file (only a link to /dev/null masks a file), so it is not trusted; none of its lines applied",
             "is not a regular file (only a link to /dev/null masks a file), so it is not trusted; none of its lines applied",
             $"larger than {DeclarationSet.MaxFileBytes / 1024} KiB, so not read: a reservations file is a list of lines"],
            set.Problems.Select(p => p.Reason));
        Assert.Equal(80, Assert.Single(set.Blocks).Start);
    }

    [Fact]
    public void AFileOnProc_IsNotBelieved_ThoughRootOwnsIt_SinceAnyProcessShapesItsCommandLine()
    {
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        File.CreateSymbolicLink(Path.Combine(_root, "a/10-proc.conf"), "/proc/self/cmdline");

        DeclarationSet set = DeclarationSet.LoadDirectories([Path.Combine(_root, "a")], s_users.Contains, s_groups.Contains);

        Assert.Equal("is on /proc, whose files' contents processes shape, so it is not trusted; none of its lines applied", Assert.Single(set.Problems).Reason);
    }

    [Fact]
    public void NamedFiles_AreReadInTheGivenOrder_AndAMissingOneIsAProblem()
    {
        Write("x.conf", "tcp 80");
        DeclarationSet set = DeclarationSet.LoadFiles([Path.Combine(_root, "missing.conf"), Path.Combine(_root, "x.conf")], s_users.Contains, s_groups.Contains);

        Assert.Equal(0, Assert.Single(set.Problems).Line);
        Assert.Contains("cannot be read", set.Problems[0].ToString(), StringComparison.Ordinal);
        Assert.Single(set.Blocks);
    }

    [Fact]
    public void RandomText_NeverThrows_AndEveryLineIsEitherABlockACommentOrAProblem()
    {
        var random = new Random(1234);
        string[] pieces = ["tcp", "udp", "TCP", "8080", "1-2", "65535", "0", "-", ",", "=", "allow-user=", "allow-group=", "alice", "#", " ", "\t", "x", "99999", "allow-user=www-data,1000", "\r", "\u00e9"];
        for (int round = 0; round < 300; round++)
        {
            string[] lines = [.. Enumerable.Range(0, 20).Select(_ => string.Concat(Enumerable.Range(0, random.Next(0, 6)).Select(_ => pieces[random.Next(pieces.Length)] + (random.Next(2) == 0 ? " " : string.Empty))))];
            Write("a/10.conf", string.Join('\n', lines));

            DeclarationSet set = DeclarationSet.LoadFiles([Path.Combine(_root, "a/10.conf")], s_users.Contains, s_groups.Contains);

            int meaningful = lines.Count(l => !string.IsNullOrWhiteSpace(l.Split('#')[0]));
            Assert.Equal(meaningful, set.Blocks.Count + set.Unresolved.Count + set.Problems.Count(p => !set.Unresolved.Any(u => u.Line == p.Line)));
            Assert.All(set.Blocks, b => Assert.InRange(b.End, b.Start, 65535));
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo(string path, int mode);

    private DeclarationSet Load(string text)
    {
        Write("a/10.conf", text);
        return DeclarationSet.LoadDirectories([Path.Combine(_root, "a")], s_users.Contains, s_groups.Contains);
    }

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
