using System.Runtime.CompilerServices;
using Venus.Protocol.Vulkan;
using Venus.Protocol.Wire;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/featurechain.c with every feature struct the protocol knows
/// (<c>VkPhysicalDeviceFeatures2Wire.PartialChainSTypes</c>, 116, each once) chained to
/// VkPhysicalDeviceFeatures2: an app through our ICD on venus-host gets the answer native lavapipe
/// gives, struct for struct, and creates a device with that chain (every reported feature
/// requested, every offered extension enabled). Issue 17: past 64 chained structs the host used to
/// end the context ("decode error ChainTooLong"), which the app saw as VK_ERROR_DEVICE_LOST.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class FeatureChainTests(IcdFixture fx, ITestOutputHelper output)
{
    static readonly IReadOnlyDictionary<int, Type> StructOf = ProtocolStructs.BySType;

    /// <summary>Feature structs this driver answers itself (PhysicalDevice.LocalFeatures): they differ from the host's on purpose.</summary>
    private static readonly int[] AnsweredByTheIcd = [(int)VkPhysicalDeviceDeviceMemoryReportFeaturesEXT.SType];

    private static string Command(IcdFixture fx) =>
        fx.Clients.Executable("featurechain") + " " + string.Join(" ",
            VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.ToArray().Select(st => $"{st}:{RuntimeHelpers.SizeOf(StructOf[st].TypeHandle)}"));

    /// <summary>"features" and "struct N" lines: what follows the label, by label.</summary>
    private static Dictionary<string, string> Answers(string stdout) =>
        stdout.Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("featurechain: features ", StringComparison.Ordinal) || l.StartsWith("featurechain: struct ", StringComparison.Ordinal))
            .Select(l => l["featurechain: ".Length..])
            .ToDictionary(l => l.StartsWith("features", StringComparison.Ordinal) ? "features" : string.Join(' ', l.Split(' ').Take(2)),
                l => string.Join(' ', l.Split(' ').Skip(l.StartsWith("features", StringComparison.Ordinal) ? 1 : 2)));

    [Fact]
    public void ThroughOurIcdOnVenusHostTheLongestFeatureChainAnswersAsNative()
    {
        int structs = VkPhysicalDeviceFeatures2Wire.PartialChainSTypes.Length;
        Assert.True(structs > 64, $"only {structs} feature structs");
        string command = Command(fx);

        RunResult native = fx.RunNative(command, TimeSpan.FromSeconds(60));
        output.WriteLine($"native: {native}");
        Assert.True(native.Succeeded && native.Stdout.Contains("featurechain: all ok"), $"natively:\n{native}");

        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, command, TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded && run.Run.Stdout.Contains("featurechain: all ok"), $"through our ICD:\n{run}");
        // VkPhysicalDeviceFeatures2 and the feature structs less the four Vulkan 1.x ones.
        Assert.Contains($"featurechain: device with {structs + 1 - 4} chained structs ok", run.Run.Stdout);
        Assert.True(run.HostAliveAfter, run.ToString());

        Dictionary<string, string> expected = Answers(native.Stdout), got = Answers(run.Run.Stdout);
        Assert.Equal(structs + 1, expected.Count);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        var differences = expected.Keys
            .Where(k => got[k] != expected[k] && !AnsweredByTheIcd.Any(st => k == $"struct {st}"))
            .Select(k => $"{k} ({(k == "features" ? "VkPhysicalDeviceFeatures" : StructOf[int.Parse(k[7..])].Name)}): ours {got[k]}, native {expected[k]}")
            .ToList();
        Assert.True(differences.Count == 0, $"through our ICD on venus-host, differs from native lavapipe:\n{string.Join("\n", differences)}");
    }
}
