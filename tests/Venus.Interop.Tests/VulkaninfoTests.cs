using Xunit.Abstractions;

namespace Venus.Interop.Tests;

/// <summary>
/// <c>vulkaninfo</c> through Mesa 25.0.7's venus guest. Against virglrenderer 1.1.0 it records the
/// reference (../shared/docs/peers.md: one device "Virtio-GPU Venus (llvmpipe ...)", MESA_VENUS,
/// apiVersion 1.2.0, 98 device extensions); venus-host must match or exceed it.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class VulkaninfoTests(InteropFixture fx, ITestOutputHelper output)
{
    private const int SummaryRepeats = 3;

    [Fact]
    public void NativeLavapipeBaseline()
    {
        RunResult run = fx.RunNative("vulkaninfo --summary", InteropFixture.VulkanInfoTimeout);
        output.WriteLine(Timing("native-lavapipe", "vulkaninfo --summary", run));
        Assert.True(run.Succeeded, run.ToString());
        SummaryDevice device = Assert.Single(VulkanInfoSummary.Parse(run.Stdout).Devices);
        output.WriteLine($"native: {device.Name}, apiVersion {device.ApiVersion}, {device.DriverId}");
        Assert.StartsWith("llvmpipe", device.Name);
        Assert.Equal("DRIVER_ID_MESA_LLVMPIPE", device.DriverId);
    }

    [Theory]
    [InlineData(HostKind.VirglRenderer)]
    [InlineData(HostKind.VenusHost)]
    public void SummaryThroughMesaVenus(HostKind kind)
    {
        // For venus-host the reference comes first, so a missing venus-host still shows what it must reach.
        VulkanInfoReference? reference = kind == HostKind.VenusHost ? fx.VirglReference : null;

        using RunningHost host = fx.StartHost(kind);
        output.WriteLine($"host: {host}");

        GuestRun? summaryRun = null;
        for (int i = 0; i < SummaryRepeats; i++)
        {
            GuestRun run = fx.RunGuest(host, "vulkaninfo --summary", InteropFixture.VulkanInfoTimeout);
            output.WriteLine(Timing(kind, $"vulkaninfo --summary (run {i + 1})", run.Run));
            Assert.True(run.Run.Succeeded, $"vulkaninfo --summary through Mesa's venus failed:\n{run}");
            summaryRun ??= run;
        }
        GuestRun full = fx.RunGuest(host, "vulkaninfo", InteropFixture.VulkanInfoTimeout);
        output.WriteLine(Timing(kind, "vulkaninfo (full text)", full.Run));
        Assert.True(full.Run.Succeeded, $"vulkaninfo through Mesa's venus failed:\n{full}");

        VulkanInfoSummary summary = VulkanInfoSummary.Parse(summaryRun!.Run.Stdout);
        VulkanInfoFull details = VulkanInfoFull.Parse(full.Run.Stdout);
        Assert.True(summary.Devices.Count == 1, $"expected one device, got {summary.Devices.Count}:\n{summaryRun}");
        SummaryDevice device = summary.Devices[0];
        VulkanInfoFull.Device fullDevice = Assert.Single(details.Devices);
        output.WriteLine($"{kind}: deviceName = {device.Name}");
        output.WriteLine($"{kind}: driverID = {device.DriverId}, driverName = {device.DriverName}, driverInfo = {device.DriverInfo}");
        output.WriteLine($"{kind}: apiVersion = {device.ApiVersion}, device extensions = {fullDevice.Extensions.Count} " +
                         $"(declared {fullDevice.DeclaredExtensionCount})");
        Assert.Equal(fullDevice.DeclaredExtensionCount, fullDevice.Extensions.Count);
        Assert.Equal(device.Name, fullDevice.Name);
        Assert.Equal(device.ApiVersion, fullDevice.ApiVersion);
        Assert.Equal("DRIVER_ID_MESA_VENUS", device.DriverId);
        Assert.StartsWith("Virtio-GPU Venus (", device.Name);

        if (kind == HostKind.VirglRenderer)
        {
            // The reference pair (peers.md): lavapipe behind virglrenderer 1.1.0, seen through Mesa 25.0.7.
            Assert.StartsWith("Virtio-GPU Venus (llvmpipe (", device.Name);
            Assert.Equal((1, 2), (device.ApiVersion.Major, device.ApiVersion.Minor));
            Assert.InRange(fullDevice.Extensions.Count, 90, 110);
            Assert.DoesNotContain("VK_KHR_swapchain", fullDevice.Extensions.Keys);
            output.WriteLine($"REFERENCE (virglrenderer 1.1.0 + Mesa 25.0.7 venus): '{device.Name}', {device.DriverId}, " +
                             $"apiVersion {device.ApiVersion}, {fullDevice.Extensions.Count} device extensions");
            return;
        }

        VulkanInfoReference r = reference!;
        SummaryDevice refDevice = r.Summary.Devices[0];
        VulkanInfoFull.Device refFull = r.Full.Devices[0];
        output.WriteLine($"reference: '{refDevice.Name}', apiVersion {refDevice.ApiVersion}, {refFull.Extensions.Count} device extensions");
        string[] missing = refFull.Extensions.Keys.Where(e => !fullDevice.Extensions.ContainsKey(e)).Order().ToArray();
        string[] extra = fullDevice.Extensions.Keys.Where(e => !refFull.Extensions.ContainsKey(e)).Order().ToArray();
        output.WriteLine($"missing vs reference ({missing.Length}): {string.Join(' ', missing)}");
        output.WriteLine($"extra vs reference ({extra.Length}): {string.Join(' ', extra)}");

        Assert.True(device.Name == refDevice.Name,
            $"device name '{device.Name}' differs from the reference '{refDevice.Name}'");
        Assert.True(device.ApiVersion >= refDevice.ApiVersion,
            $"apiVersion {device.ApiVersion} is below the reference {refDevice.ApiVersion}");
        Assert.True(fullDevice.Extensions.Count >= refFull.Extensions.Count,
            $"{fullDevice.Extensions.Count} device extensions, fewer than the reference's {refFull.Extensions.Count}; " +
            $"missing: {string.Join(' ', missing)}");
    }

    internal static string Timing(HostKind kind, string job, RunResult run) =>
        Timing(kind == HostKind.VirglRenderer ? "virglrenderer" : "venus-host", job, run);

    internal static string Timing(string host, string job, RunResult run) =>
        $"timing host={host} job=\"{job}\" wall_ms={run.Wall.TotalMilliseconds:0.0} {run.Outcome}";
}
