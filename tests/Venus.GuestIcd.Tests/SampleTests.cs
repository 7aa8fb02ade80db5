using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// The .NET sample (samples/Venus.Sample: C# on Silk.NET.Vulkan 2.23.0, a compute job and an
/// offscreen triangle read back through a buffer) prints the same result lines through our ICD on
/// venus-host as natively on lavapipe — the values' sum and hash, the image's hash and coverage —
/// with Mesa's guest on the same host as a second control.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class SampleTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static string[] Results(RunResult run) =>
        run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("compute:", StringComparison.Ordinal) || l.StartsWith("render:", StringComparison.Ordinal))
            .ToArray();

    [Fact]
    public void SilkNetSampleThroughOurIcdEqualsNativeLavapipe()
    {
        RunResult native = fx.RunNative(fx.Sample, Timeout);
        output.WriteLine(native.ToString());
        Assert.True(native.Succeeded, "the control failed: " + native);
        string[] expected = Results(native);
        Assert.Equal(2, expected.Length);
        Assert.Contains("0 wrong", expected[0]);

        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun ours = fx.RunThroughIcd(host, fx.Sample, Timeout);
        output.WriteLine(ours.ToString());
        Assert.True(ours.Run.Succeeded, ours.ToString());
        Assert.Contains("device: Virtio-GPU Venus.NET (llvmpipe", ours.Run.Stdout);
        Assert.Equal(expected, Results(ours.Run));

        DriverRun mesa = fx.RunThroughMesa(host, fx.Sample, Timeout);
        output.WriteLine(mesa.ToString());
        Assert.True(mesa.Run.Succeeded, mesa.ToString());
        Assert.Equal(expected, Results(mesa.Run));
    }
}
