using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/exts.c: the device extensions our ICD implements (partly) itself. Push descriptors
/// with garbage in the fields the spec says are ignored, and push-descriptor templates (expanded in
/// the guest into vkCmdPushDescriptorSetKHR: the template's raw data cannot travel), each driving a
/// compute dispatch whose output is read back and checked; VK_KHR_device_group's dispatch base and
/// device mask; calibrated timestamps (the device's from the host, CLOCK_MONOTONIC the guest's own);
/// tool properties; device-memory reports. Native lavapipe is the control for the steps it has. On
/// virglrenderer the read-back is left out ("nomap": it cannot share memory), the commands still run.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class ExtensionTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly string[] HostSteps = ["push", "push-template", "device-group", "calibrated"];
    private static readonly string[] DriverSteps = ["tooling", "memory-report"];

    private string Command(string args = "") =>
        $"{fx.Clients.Executable("exts")} {fx.Clients.Spirv("compute.comp")}{args}";

    [Fact]
    public void NativeLavapipeControl()
    {
        RunResult run = fx.RunNative(Command(), TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        AssertSteps(run.Succeeded, run.Stdout, run.ToString(), HostSteps);
    }

    [Theory]
    [InlineData(HostKind.VenusHost, "")]
    [InlineData(HostKind.VirglRenderer, " nomap")]
    public void ThroughOurIcdEveryStepPasses(HostKind kind, string args)
    {
        RunningHost host = fx.SharedHost(kind);
        DriverRun run = fx.RunThroughIcd(host, Command(args), TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        AssertSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString(), [.. HostSteps, .. DriverSteps]);
        // vtest has no DRM device: the DRM and PCI extensions are not offered.
        Assert.Contains("exts: drm skipped", run.Run.Stdout);
    }

    [Fact]
    public void ThroughOurIcdUnderTheValidationLayerOnVenusHost()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, Command(), TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" });
        output.WriteLine(run.ToString());
        AssertSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString(), [.. HostSteps, .. DriverSteps]);
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    private static void AssertSteps(bool succeeded, string stdout, string describe, string[] steps)
    {
        Assert.True(succeeded, $"exts failed:\n{describe}");
        foreach (string step in steps)
            Assert.Contains($"exts: {step} ok", stdout);
        Assert.Contains("exts: all ok", stdout);
    }
}
