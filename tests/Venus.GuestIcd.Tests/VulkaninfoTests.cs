using Venus.Client;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// <c>vulkaninfo</c> (full and <c>--summary</c>) through our ICD against virglrenderer 1.1.0 and
/// venus-host, both on the chroot's lavapipe. It must complete (exit 0), show the host's device
/// (lavapipe's "llvmpipe ..." name), report apiVersion ≥ 1.3 whenever the host reports ≥ 1.3 (asked
/// directly with venus probe: venus-host passes lavapipe's 1.4, virglrenderer's capset caps at 1.3),
/// on venus-host lavapipe's own major.minor (1.4),
/// and list only device extensions that native lavapipe's vulkaninfo lists too, besides the ones the
/// driver answers itself (<see cref="DriverOwn"/>), which it must list; the DRM and PCI ones need a
/// DRM device and must not appear over vtest.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class VulkaninfoTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly VkVersion Vulkan13 = new(1, 3, 0);

    /// <summary>Extensions our ICD implements itself, whatever the host's driver has.</summary>
    public static readonly string[] DriverOwn =
    [
        "VK_EXT_device_memory_report", "VK_EXT_tooling_info", "VK_KHR_swapchain", "VK_KHR_incremental_present",
        "VK_EXT_swapchain_maintenance1", "VK_KHR_present_id", "VK_KHR_present_wait",
        // SYNC_FD fences: waited for and imported by the driver itself (Runtime/ExternalSync.cs).
        "VK_KHR_external_fence_fd",
    ];

    /// <summary>Extensions venus-host offers on lavapipe though lavapipe lacks them (SYNC_FD semaphores, emulated by the host).</summary>
    public static readonly string[] VenusHostEmulated = ["VK_KHR_external_semaphore_fd"];

    /// <summary>Extensions our ICD offers only on a DRM device (virtio-gpu), never over vtest.</summary>
    public static readonly string[] DrmOnly = ["VK_EXT_pci_bus_info", "VK_EXT_physical_device_drm"];

    [Fact]
    public void NativeLavapipeControl()
    {
        NativeReference native = fx.Native;
        output.WriteLine($"native lavapipe: '{native.Summary.Name}', apiVersion {native.Summary.ApiVersion}, " +
                         $"{native.Full.Extensions.Count} device extensions, {native.Summary.DriverId}");
        Assert.Contains("llvmpipe", native.Summary.Name);
        Assert.Equal(native.Summary.Name, native.Full.Name);
        Assert.True(native.Summary.ApiVersion >= Vulkan13, $"native lavapipe reports {native.Summary.ApiVersion}");
    }

    [Theory]
    [InlineData(HostKind.VirglRenderer)]
    [InlineData(HostKind.VenusHost)]
    public void VulkaninfoThroughOurIcd(HostKind kind)
    {
        NativeReference native = fx.Native;
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        RunningHost host = fx.SharedHost(kind);
        output.WriteLine($"host: {host}");
        ProbeReport probe = fx.Probe(kind);
        DeviceReport hostDevice = Assert.Single(probe.Devices);
        VkVersion hostApi = Outcome.Version(hostDevice.ApiVersion);
        output.WriteLine($"host reports (venus probe): '{hostDevice.Name}', apiVersion {hostApi}, " +
                         $"{hostDevice.Extensions.Count} device extensions, capset vk.xml {Outcome.Version(probe.Capset.VkXmlVersion)}");

        DriverRun summaryRun = fx.RunThroughIcd(host, "vulkaninfo --summary", IcdFixture.VulkanInfoTimeout);
        output.WriteLine($"vulkaninfo --summary: {summaryRun.Run.Outcome}, {Outcome.Ms(summaryRun.Run.Wall)}");
        Assert.True(summaryRun.Run.Succeeded, $"vulkaninfo --summary through our ICD failed:\n{summaryRun}");
        DriverRun fullRun = fx.RunThroughIcd(host, "vulkaninfo", IcdFixture.VulkanInfoTimeout);
        output.WriteLine($"vulkaninfo (full): {fullRun.Run.Outcome}, {Outcome.Ms(fullRun.Run.Wall)}");
        Assert.True(fullRun.Run.Succeeded, $"vulkaninfo through our ICD failed:\n{fullRun}");

        VulkanInfoSummary summary = VulkanInfoSummary.Parse(summaryRun.Run.Stdout);
        VulkanInfoFull full = VulkanInfoFull.Parse(fullRun.Run.Stdout);
        Assert.True(summary.Devices.Count == 1, $"expected one device in --summary, got {summary.Devices.Count}:\n{summaryRun}");
        Assert.True(full.Devices.Count == 1, $"expected one device in the full output, got {full.Devices.Count}:\n{fullRun}");
        SummaryDevice device = summary.Devices[0];
        VulkanInfoFull.Device details = full.Devices[0];

        var extra = details.Extensions.Keys.Where(e => !native.Full.Extensions.ContainsKey(e) && !DriverOwn.Contains(e) &&
                !(kind == HostKind.VenusHost && VenusHostEmulated.Contains(e)))
            .Order(StringComparer.Ordinal).ToList();
        var notOffered = native.Full.Extensions.Keys.Where(e => !details.Extensions.ContainsKey(e)).Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"{kind} through our ICD: deviceName = {device.Name}");
        output.WriteLine($"{kind} through our ICD: driverID = {device.DriverId}, driverName = {device.DriverName}, driverInfo = {device.DriverInfo}");
        output.WriteLine($"COUNTS {kind}: our ICD apiVersion {device.ApiVersion} (full: {details.ApiVersion}), " +
                         $"{details.Extensions.Count} device extensions (declared {details.DeclaredExtensionCount}); " +
                         $"host reports {hostApi} with {hostDevice.Extensions.Count}; native lavapipe {native.Summary.ApiVersion} " +
                         $"with {native.Full.Extensions.Count}; not in native: {extra.Count}; native ones we do not list: {notOffered.Count}");
        if (notOffered.Count > 0)
            output.WriteLine("native extensions not listed through our ICD: " + string.Join(' ', notOffered));
        string venusLines = string.Join('\n', fullRun.Run.Stderr.Split('\n').Where(l => l.StartsWith("venus:", StringComparison.Ordinal)).Take(20));
        if (venusLines.Length > 0)
            output.WriteLine("ICD log (first lines):\n" + venusLines);

        // The device is the host's.
        Assert.Contains("llvmpipe", device.Name);
        Assert.Contains(native.Summary.Name, device.Name);
        Assert.Equal(device.Name, details.Name);

        // apiVersion: at least 1.3 when the host offers at least 1.3.
        Assert.Equal(device.ApiVersion, details.ApiVersion);
        if (hostApi >= Vulkan13)
            Assert.True(device.ApiVersion >= Vulkan13,
                $"the host reports apiVersion {hostApi} but vulkaninfo through our ICD shows {device.ApiVersion}:\n{summaryRun}");
        // venus-host carries everything Vulkan 1.4 needs (host copies through spec 3): lavapipe's own version.
        if (kind == HostKind.VenusHost)
            Assert.True(device.ApiVersion.Major == native.Summary.ApiVersion.Major && device.ApiVersion.Minor == native.Summary.ApiVersion.Minor,
                $"our ICD on venus-host reports apiVersion {device.ApiVersion}, native lavapipe {native.Summary.ApiVersion}");
        Assert.True(device.ApiVersion <= native.Summary.ApiVersion,
            $"our ICD reports apiVersion {device.ApiVersion}, above the host driver's {native.Summary.ApiVersion}");

        // Extensions: every one is also native lavapipe's.
        Assert.Equal(details.DeclaredExtensionCount, details.Extensions.Count);
        Assert.True(details.Extensions.Count > 0, $"no device extension parsed from vulkaninfo through our ICD:\n{fullRun}");
        Assert.True(extra.Count == 0,
            $"vulkaninfo through our ICD lists {extra.Count} device extensions that native lavapipe does not: {string.Join(' ', extra)}");
        foreach (string own in DriverOwn)
            Assert.True(details.Extensions.ContainsKey(own), $"vulkaninfo through our ICD does not list {own}, which the driver implements itself");
        foreach (string drm in DrmOnly)
            Assert.False(details.Extensions.ContainsKey(drm), $"vulkaninfo through our ICD lists {drm} over vtest, where there is no DRM device");
    }
}
