using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/rt.c: acceleration structures built on the device, a ray-query compute shader and
/// a ray-tracing pipeline (through a deferred operation, its group handles asked twice) tracing
/// the same small scene. Natively on lavapipe and through our ICD on venus-host in the same test:
/// the build sizes and both images' hashes must be native's, and our ICD must report
/// accelerationStructureHostCommands and capture/replay handles off.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class RayTracingTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private string Command =>
        $"{fx.Clients.Executable("rt")} {fx.Clients.Spirv("rt_query.comp")} {fx.Clients.Spirv("rt.rgen")} {fx.Clients.Spirv("rt.rmiss")} {fx.Clients.Spirv("rt.rchit")}";

    private static readonly string[] SameAsNative = ["rt: sizes ", "rt: query hash=", "rt: pipeline hash="];

    [Fact]
    public void ThroughOurIcdOnVenusHostLikeNative()
    {
        RunResult native = fx.RunNative(Command, Timeout);
        output.WriteLine("native:\n" + native);
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), Command, Timeout);
        output.WriteLine("ours:\n" + ours);
        Assert.True(native.Succeeded && native.Stdout.Contains("rt: all ok"), $"rt natively failed:\n{native}");
        Assert.True(ours.Run.Succeeded && ours.Run.Stdout.Contains("rt: all ok"), $"rt through our ICD failed:\n{ours}");
        foreach (string prefix in SameAsNative)
            Assert.Equal(Line(native.Stdout, prefix), Line(ours.Run.Stdout, prefix));
        string features = Line(ours.Run.Stdout, "rt: features ");
        Assert.Contains(" host-commands=0 ", features);
        Assert.Contains(" replay=0 ", features);
        Assert.True(ours.HostAliveAfter, ours.ToString());
    }

    /// <summary>Khronos' validation layer has nothing to say about the client, natively or through our ICD.</summary>
    [Fact]
    public void ValidationLayerIsCleanNativelyAndThroughOurIcd() =>
        fx.AssertValidationLayerIsSilent(Command, Timeout, "rt: all ok", output);

    /// <summary>
    /// Mesa 25.0.7's venus guest offers none of the ray-tracing extensions (on venus-host either),
    /// and virglrenderer 1.1.0 leaves them out of its own list, so through our ICD on it the client
    /// finds them missing: a clean refusal (exit 2), never a crash of either side.
    /// </summary>
    [Fact]
    public void MesaGuestAndVirglRendererDoNotOfferRayTracing()
    {
        DriverRun mesa = fx.RunThroughMesa(fx.SharedHost(HostKind.VenusHost), Command, Timeout);
        DriverRun virgl = fx.RunThroughIcd(fx.SharedHost(HostKind.VirglRenderer), Command, Timeout);
        output.WriteLine("Mesa on venus-host:\n" + mesa + "\nours on virglrenderer:\n" + virgl);
        foreach (DriverRun run in new[] { mesa, virgl })
        {
            Assert.Contains("rt: missing VK_KHR_acceleration_structure", run.Run.Stdout);
            Assert.Equal(2, run.Run.ExitCode);
            Assert.True(run.HostAliveAfter, run.ToString());
        }
    }

    private static string Line(string stdout, string prefix) =>
        stdout.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no line starting with '{prefix}' in:\n{stdout}");
}
