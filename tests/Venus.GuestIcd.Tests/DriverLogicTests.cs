using Venus.GuestIcd.Runtime;
using Venus.GuestIcd.Transport;
using Venus.Protocol.Vulkan;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Unit tests of two self-contained pieces of the ICD, compiled into this project: which device
/// extensions the driver implements completely (<see cref="ExtensionFilter"/>, vk.xml require
/// dependencies) and the DRM/PCI identity of a render node read from sysfs (<see cref="DrmNodeInfo"/>,
/// on a fake sysfs tree shaped like a virtio-gpu VM's).
/// </summary>
public sealed class DriverLogicTests
{
    private const uint V13 = (1u << 22) | (3u << 12);
    private static readonly HashSet<string> InstanceExtensions = ["VK_KHR_get_physical_device_properties2"];

    private static (HashSet<string> Offered, List<(string, string)> Dropped) Filter(
        string[] offered, ExtensionCommand[] commands, string[] entryPoints, uint api = V13)
    {
        var set = new HashSet<string>(offered, StringComparer.Ordinal);
        var dropped = new List<(string, string)>();
        ExtensionFilter.Apply(set, commands, name => entryPoints.Contains(name), api, InstanceExtensions, dropped);
        return (set, dropped);
    }

    [Fact]
    public void WsiCommandsDoNotBlockDeviceGroupWithoutWsi()
    {
        ExtensionCommand[] commands =
        [
            new("VK_KHR_device_group", "vkCmdDispatchBaseKHR", null),
            new("VK_KHR_device_group", "vkGetDeviceGroupPresentCapabilitiesKHR", "VK_KHR_surface"),
            new("VK_KHR_device_group", "vkAcquireNextImage2KHR", "VK_KHR_swapchain"),
        ];
        var (offered, dropped) = Filter(["VK_KHR_device_group"], commands, ["vkCmdDispatchBaseKHR"]);
        Assert.Contains("VK_KHR_device_group", offered);
        Assert.Empty(dropped);

        // With VK_KHR_swapchain offered, vkAcquireNextImage2KHR would be needed.
        (offered, dropped) = Filter(["VK_KHR_device_group", "VK_KHR_swapchain"], commands, ["vkCmdDispatchBaseKHR"]);
        Assert.DoesNotContain("VK_KHR_device_group", offered);
        Assert.Contains(dropped, d => d.Item2.Contains("vkAcquireNextImage2KHR", StringComparison.Ordinal));
    }

    [Fact]
    public void ACommandlessDependencyGoesSoThatTheLargerExtensionStays()
    {
        // NVIDIA lists VK_NV_framebuffer_mixed_samples (no commands of its own) and EDS3, whose
        // vkCmdSetCoverageModulationModeNV exists only with it and does not travel: EDS3 stays.
        ExtensionCommand[] commands =
        [
            new("VK_EXT_extended_dynamic_state3", "vkCmdSetPolygonModeEXT", null),
            new("VK_EXT_extended_dynamic_state3", "vkCmdSetCoverageModulationModeNV", "VK_NV_framebuffer_mixed_samples"),
            new("VK_EXT_extended_dynamic_state3", "vkCmdSetViewportSwizzleNV", "VK_NV_viewport_swizzle"),
        ];
        var (offered, dropped) = Filter(["VK_EXT_extended_dynamic_state3", "VK_NV_framebuffer_mixed_samples"], commands, ["vkCmdSetPolygonModeEXT"]);
        Assert.Contains("VK_EXT_extended_dynamic_state3", offered);
        Assert.DoesNotContain("VK_NV_framebuffer_mixed_samples", offered);
        Assert.Contains(dropped, d => d.Item1 == "VK_NV_framebuffer_mixed_samples" && d.Item2.Contains("vkCmdSetCoverageModulationModeNV", StringComparison.Ordinal));

        // A command of its own that is missing still drops EDS3.
        (offered, _) = Filter(["VK_EXT_extended_dynamic_state3", "VK_NV_framebuffer_mixed_samples"], commands, []);
        Assert.DoesNotContain("VK_EXT_extended_dynamic_state3", offered);
    }

    [Fact]
    public void AnUnconditionalCommandWithoutEntryPointDropsTheExtension()
    {
        var (offered, dropped) = Filter(["VK_KHR_push_descriptor"],
            [new("VK_KHR_push_descriptor", "vkCmdPushDescriptorSetKHR", null)], []);
        Assert.Empty(offered);
        Assert.Single(dropped);
    }

    [Fact]
    public void DependenciesFollowTheExtensionsThatStayAndTheVersion()
    {
        ExtensionCommand[] commands =
        [
            new("VK_KHR_push_descriptor", "vkCmdPushDescriptorSetKHR", null),
            new("VK_KHR_push_descriptor", "vkCmdPushDescriptorSetWithTemplateKHR", "VK_VERSION_1_1,VK_KHR_descriptor_update_template"),
            new("VK_KHR_maintenance6", "vkCmdPushDescriptorSetWithTemplate2KHR", "VK_KHR_push_descriptor"),
        ];
        // Without the template command, push_descriptor goes (1.1 holds), and then maintenance6's
        // command no longer applies, so maintenance6 stays.
        var (offered, _) = Filter(["VK_KHR_push_descriptor", "VK_KHR_maintenance6"], commands, ["vkCmdPushDescriptorSetKHR"]);
        Assert.Equal(["VK_KHR_maintenance6"], offered.Order());
        // Everything there: both stay... except maintenance6's missing command.
        (offered, _) = Filter(["VK_KHR_push_descriptor", "VK_KHR_maintenance6"], commands,
            ["vkCmdPushDescriptorSetKHR", "vkCmdPushDescriptorSetWithTemplateKHR"]);
        Assert.Equal(["VK_KHR_push_descriptor"], offered.Order());
        // A 1.0 device without descriptor_update_template needs no template command.
        (offered, _) = Filter(["VK_KHR_push_descriptor"], commands, ["vkCmdPushDescriptorSetKHR"], api: 1u << 22);
        Assert.Contains("VK_KHR_push_descriptor", offered);
    }

    [Theory]
    [InlineData("A", true)]
    [InlineData("B", false)]
    [InlineData("A,B", true)]
    [InlineData("A+B", false)]
    [InlineData("(A+B),C", true)]
    [InlineData("A+(B,C)", true)]
    [InlineData("B+(A,C)", false)]
    [InlineData("VkPhysicalDeviceFeatures::x", true)]
    [InlineData("B+VkPhysicalDeviceFeatures::x", false)]
    public void DependsExpressions(string expression, bool expected)
    {
        Assert.Equal(expected, ExtensionFilter.Evaluate(expression, n => n is "A" or "C"));
    }

    [Theory]
    [InlineData("0000:00:01.0", 0u, 0u, 1u, 0u)]
    [InlineData("0001:3a:1f.7", 1u, 0x3au, 0x1fu, 7u)]
    public void PciNames(string name, uint domain, uint bus, uint device, uint function)
    {
        Assert.Equal(new PciBusInfo(domain, bus, device, function), DrmNodeInfo.ParsePciName(name));
    }

    [Theory]
    [InlineData("virtio0")]
    [InlineData("0000:00:01")]
    [InlineData("0000:00:zz.0")]
    public void NotPciNames(string name) => Assert.Null(DrmNodeInfo.ParsePciName(name));

    /// <summary>
    /// /sys/dev/char/226:128 → devices/pci0000:00/0000:00:01.0/virtio0/drm/renderD128, whose
    /// device link leads to virtio0 (subsystem virtio), whose parent is the PCI device; card0 sits
    /// next to renderD128, and /dev/dri/card0 exists.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VirtioGpuInAVm(bool primaryNodeExists)
    {
        string root = Path.Combine(Path.GetTempPath(), $"venus-sysfs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            string sys = Path.Combine(root, "sys"), dev = Path.Combine(root, "dev", "dri");
            string pci = Path.Combine(sys, "devices", "pci0000:00", "0000:00:01.0");
            string virtio = Path.Combine(pci, "virtio0");
            string drm = Path.Combine(virtio, "drm");
            Directory.CreateDirectory(Path.Combine(drm, "renderD128"));
            Directory.CreateDirectory(Path.Combine(drm, "card0"));
            Directory.CreateDirectory(Path.Combine(sys, "bus", "pci"));
            Directory.CreateDirectory(Path.Combine(sys, "bus", "virtio"));
            Directory.CreateDirectory(Path.Combine(sys, "dev", "char"));
            Directory.CreateDirectory(dev);
            File.WriteAllText(Path.Combine(drm, "card0", "dev"), "226:0\n");
            File.WriteAllText(Path.Combine(drm, "renderD128", "dev"), "226:128\n");
            File.CreateSymbolicLink(Path.Combine(drm, "renderD128", "device"), "../../../virtio0");
            File.CreateSymbolicLink(Path.Combine(virtio, "subsystem"), "../../../../bus/virtio");
            File.CreateSymbolicLink(Path.Combine(pci, "subsystem"), "../../../bus/pci");
            File.CreateSymbolicLink(Path.Combine(sys, "dev", "char", "226:128"), "../../devices/pci0000:00/0000:00:01.0/virtio0/drm/renderD128");
            File.WriteAllText(Path.Combine(dev, "renderD128"), "");
            if (primaryNodeExists)
                File.WriteAllText(Path.Combine(dev, "card0"), "");

            DrmNodeInfo info = DrmNodeInfo.FromSysfs(226, 128, sys, dev);
            Assert.Equal(new PciBusInfo(0, 0, 1, 0), info.Pci);
            Assert.Equal((226L, 128L), (info.RenderMajor, info.RenderMinor));
            Assert.Equal(primaryNodeExists, info.HasPrimary);
            if (primaryNodeExists)
                Assert.Equal((226L, 0L), (info.PrimaryMajor, info.PrimaryMinor));

            // A node sysfs does not know: render numbers only.
            DrmNodeInfo unknown = DrmNodeInfo.FromSysfs(226, 129, sys, dev);
            Assert.Null(unknown.Pci);
            Assert.False(unknown.HasPrimary);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void NotADeviceNode() => Assert.Null(DrmNodeInfo.Query("/etc/hostname"));

    [Fact]
    public void ZinkOnLavapipeIsNotOfferedPushDescriptorsUnlessAsked()
    {
        const VkDriverId Lavapipe = VkDriverId.VK_DRIVER_ID_MESA_LLVMPIPE;
        string? why = AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "mesa zink", Lavapipe, keepPush: false);
        Assert.NotNull(why);
        Assert.Contains("VENUS_PERF=zink_push_descriptor", why);
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "mesa zink", Lavapipe, keepPush: true));
        // Other apps, other host drivers and other extensions are not touched.
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "vkmark", Lavapipe, keepPush: false));
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "", Lavapipe, keepPush: false));
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "mesa zink", VkDriverId.VK_DRIVER_ID_INTEL_OPEN_SOURCE_MESA, keepPush: false));
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_push_descriptor", "mesa zink", 0, keepPush: false));
        Assert.Null(AppWorkarounds.LeaveOut("VK_KHR_descriptor_update_template", "mesa zink", Lavapipe, keepPush: false));
    }
}
