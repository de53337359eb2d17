using System.Text.RegularExpressions;
using PortReserve.IntegrationTests.Infrastructure;

namespace PortReserve.IntegrationTests;

/// <summary>
/// The README's C# samples, pasted into a new app as a newcomer would (no platform annotations of their own, warnings as
/// errors), build clean against the libraries as built here; the console one runs against the real daemon.
/// </summary>
public sealed partial class ReadmeSampleTests
{
    [Fact(Timeout = 180_000)]
    public async Task TheDotNetSample_InANewConsoleApp_BuildsWithoutAWarning_AndBindsFromItsReservation()
    {
        string directory = NewApp("Microsoft.NET.Sdk", "Exe", Sample("### From .NET"), "PortReserve");

        (int built, string buildOutput) = await BuildAsync(directory);
        await using DaemonProcess daemon = await DaemonProcess.StartAsync();
        (int ran, string output) = await ChildProcess.RunAsync(Path.Combine(directory, "bin", "app"), [], daemon.ClientEnvironment);
        Directory.Delete(directory, recursive: true);

        Assert.True(built == 0, buildOutput);
        Assert.True(ran == 0, output);
        Assert.Matches(@"bound \[::\]:50\d\d from UDP 5000-5019", output);
    }

    [Fact(Timeout = 180_000)]
    public async Task TheAspNetSample_InANewWebApp_BuildsWithoutAWarning()
    {
        string directory = NewApp("Microsoft.NET.Sdk.Web", "Exe", Sample("### ASP.NET Core"), "PortReserve", "PortReserve.AspNetCore");

        (int built, string buildOutput) = await BuildAsync(directory);
        Directory.Delete(directory, recursive: true);

        Assert.True(built == 0, buildOutput);
    }

    /// <summary>The first C# block after <paramref name="heading"/> in README.md.</summary>
    private static string Sample(string heading)
    {
        string readme = File.ReadAllText(Path.Combine(Artifacts.Root, "README.md"));
        string section = readme[readme.IndexOf(heading, StringComparison.Ordinal)..];
        return CSharpBlock().Match(section).Groups[1].Value;
    }

    /// <summary>A project as <c>dotnet new</c> makes it, referencing the built libraries, with warnings as errors.</summary>
    private static string NewApp(string sdk, string outputType, string program, params string[] libraries)
    {
        string directory = Directory.CreateTempSubdirectory("prt-readme-").FullName;
        string references = string.Concat(libraries.Select(library =>
            $"<Reference Include=\"{library}\"><HintPath>{Path.Combine(Artifacts.Root, "src", library, "bin", "Release", "net10.0", library + ".dll")}</HintPath></Reference>"));
        File.WriteAllText(Path.Combine(directory, "app.csproj"), $"""
            <Project Sdk="{sdk}">
              <PropertyGroup>
                <OutputType>{outputType}</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <AssemblyName>app</AssemblyName>
                <OutputPath>bin</OutputPath>
                <AppendTargetFrameworkToOutputPath>false</AppendTargetFrameworkToOutputPath>
              </PropertyGroup>
              <ItemGroup>{references}</ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(directory, "Program.cs"), program);
        return directory;
    }

    private static Task<(int ExitCode, string Output)> BuildAsync(string directory)
        => ChildProcess.RunAsync("dotnet", ["build", directory, "--nologo", "-v", "quiet", "-p:NuGetAudit=false"], new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" }, TimeSpan.FromSeconds(150));

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
