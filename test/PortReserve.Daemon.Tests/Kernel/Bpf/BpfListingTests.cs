using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel.Bpf;

/// <summary>
/// Freezes the programs the daemon loads into the kernel: any change to an instruction shows up as a diff against the
/// program's verified listing, reviewed as code is. To accept a change, copy the printed .received.txt over the
/// verified file.
/// </summary>
public sealed class BpfListingTests
{
    private static readonly Dictionary<int, string> s_maps = new()
    {
        [101] = "ports", [102] = "policies", [103] = "allow", [104] = "live", [105] = "refusals", [106] = "refusal limits",
    };

    public static TheoryData<string> Programs => ["BindHook.BeforeBind", "BindHook.AfterBind", "ProcessExit"];

    [Theory]
    [MemberData(nameof(Programs))]
    public void Program_MatchesItsVerifiedListing(string program)
    {
        BpfAssembler assembler = program switch
        {
            "ProcessExit" => ProcessExitProgram.Assemble(104),
            _ => BindHookProgram.Assemble(101, 102, 103, 104, (105, 106), netnsCookie: 0x1122_3344_5566_7788, afterBind: program == "BindHook.AfterBind"),
        };
        string actual = $"; {program}: {assembler.Build().Count} instruction slots; map descriptors shown by name, the network namespace's cookie as 0x1122334455667788\n{BpfListing.Render(assembler, s_maps)}";
        string verifiedFile = $"{program}.verified.txt";
        string verifiedPath = Path.Combine(AppContext.BaseDirectory, "Kernel", "Bpf", verifiedFile);
        string expected = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).ReplaceLineEndings("\n") : string.Empty;
        if (actual != expected)
        {
            string receivedPath = Path.ChangeExtension(verifiedPath, null).Replace(".verified", ".received", StringComparison.Ordinal) + ".txt";
            Directory.CreateDirectory(Path.GetDirectoryName(receivedPath)!);
            File.WriteAllText(receivedPath, actual);
            Assert.Fail($"The {program} program changed. Review {receivedPath} and copy it to test/PortReserve.Daemon.Tests/Kernel/Bpf/{verifiedFile} if intended.\n{actual}");
        }
    }
}
