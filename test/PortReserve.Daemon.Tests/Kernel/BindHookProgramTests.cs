using PortReserve.Daemon.Kernel.Bpf;

namespace PortReserve.Daemon.Tests.Kernel;

/// <summary>The bind hook as the kernel sees it: the verifier must accept it, and its layout must be what the hook reads.</summary>
public sealed class BindHookProgramTests
{
    [Fact]
    public void Build_LoadsIntoThisKernel()
    {
        Assert.SkipWhen(BpfAbility.CannotLoad is not null, BpfAbility.CannotLoad ?? string.Empty);
        using BindHookMaps maps = BindHookMaps.Create();

        BindHook.Verify(maps, netnsCookie: 12345);
    }
}
