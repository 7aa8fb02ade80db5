using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// The compute job under the Khronos validation layer (Debian's vulkan-validationlayers in the peers
/// chroot, eng/peers.sh): through our ICD on venus-host the layer must report no error. The layer
/// sits above the ICD, so it checks the application's calls against what our ICD reports (features,
/// limits, memory types, queue families, extensions): a report means the ICD misled the application.
/// Native lavapipe runs the same as the control, and a deliberate valid-usage error proves that the
/// check finds reports when there are some.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class ValidationTests(IcdFixture fx, ITestOutputHelper output)
{
    private const string Layer = "VK_LAYER_KHRONOS_validation";
    private const string LayerManifest = "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json";
    private const uint N = 1u << 16;

    /// <summary>VK_LOADER_DEBUG=layer makes the loader say it inserted the layer: proof that the run was validated.</summary>
    private static readonly Regex Inserted = new($"Insert(ed)? instance layer \"?{Layer}");

    private static readonly Regex ValidationError = new(@"Validation Error", RegexOptions.Multiline);

    private static Dictionary<string, string> LayerEnvironment(bool invalidUsage = false)
    {
        var env = new Dictionary<string, string>
        {
            ["VK_INSTANCE_LAYERS"] = Layer,
            ["VK_LOADER_DEBUG"] = "layer",
        };
        if (invalidUsage)
            env["COMPUTE_INVALID_USAGE"] = "1";
        return env;
    }

    private void LayerMustBeInstalled() =>
        Assert.True(File.Exists(fx.PeersRoot + LayerManifest),
            $"{LayerManifest} missing in the chroot: eng/peers.sh ensure should have installed vulkan-validationlayers");

    private static string Reports(RunResult run)
    {
        string all = run.Stdout + run.Stderr;
        var lines = all.Split('\n');
        var reports = new List<string>();
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Contains("Validation Error", StringComparison.Ordinal))
                reports.Add(string.Join('\n', lines.Skip(i).Take(3)));
        return string.Join("\n---\n", reports);
    }

    private void CheckClean(string what, RunResult run, string details)
    {
        string all = run.Stdout + run.Stderr;
        int errors = ValidationError.Matches(all).Count;
        int warnings = Regex.Matches(all, "Validation Warning").Count;
        output.WriteLine($"{what}: {run.Outcome}, {Outcome.Ms(run.Wall)}, {errors} validation errors, {warnings} warnings");
        Assert.True(Inserted.IsMatch(all), $"{what}: the loader did not report inserting {Layer}; the run was not validated:\n{details}");
        Assert.True(errors == 0, $"{what}: the validation layer reported {errors} errors:\n{Reports(run)}\n\n{details}");
        Assert.True(run.Succeeded, $"{what} failed:\n{details}");
        Assert.True(ComputeTests.OkLine.IsMatch(run.Stdout), $"{what}: no 'compute: N=... ok' line:\n{details}");
    }

    [Fact]
    public void NativeLavapipeUnderValidationControl()
    {
        LayerMustBeInstalled();
        RunResult run = fx.RunNative(ComputeTests.Command(fx.Clients, N, 60), TimeSpan.FromSeconds(90), LayerEnvironment());
        CheckClean("compute on native lavapipe under validation", run, run.ToString());
    }

    /// <summary>The decoy: a deliberate error must be reported, or a clean run would prove nothing.</summary>
    [Fact]
    public void DeliberateErrorIsReportedNatively()
    {
        LayerMustBeInstalled();
        RunResult run = fx.RunNative(ComputeTests.Command(fx.Clients, 256, 60), TimeSpan.FromSeconds(90), LayerEnvironment(invalidUsage: true));
        output.WriteLine(Reports(run));
        Assert.Contains("made one deliberate valid-usage error", run.Stdout);
        Assert.True(ValidationError.IsMatch(run.Stdout + run.Stderr), $"the deliberate error was not reported:\n{run}");
        Assert.Contains("VUID-VkBufferCreateInfo-None-09500", run.Stdout + run.Stderr);
    }

    [Fact]
    public void ComputeThroughOurIcdOnVenusHostIsClean()
    {
        LayerMustBeInstalled();
        ClientBuild clients = fx.Clients;
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, ComputeTests.Command(clients, N, 60), TimeSpan.FromSeconds(90), LayerEnvironment());
        CheckClean("compute through our ICD on venus-host under validation", run.Run, run.ToString());
    }
}
