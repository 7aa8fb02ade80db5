using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.Vm.Tests;

/// <summary>
/// Our guest ICD inside a real virtio-gpu VM (eng/vm.sh, scenario venus): QEMU 10 with
/// <c>virtio-gpu-gl-pci,venus=on</c>, virglrenderer 1.1.0's render server on lavapipe, the guest
/// talking to /dev/dri/renderD128 through VIRTGPU ioctls. The same boot runs Mesa 25.0.7's venus
/// guest as the reference.
/// </summary>
[Collection("vm")]
public sealed class VenusVmTests(VmBootsFixture fixture, ITestOutputHelper output)
{
    private VmBoot Boot => fixture.Boot("venus");

    private VmStep Passed(string name) => VmAssert.Passed(Boot, name, output);

    [Fact]
    public void TheKernelOffersVenusWithBlobsAndContextInit()
    {
        VmStep kernel = Boot.Step("kernel");
        Assert.Contains("+resource_blob +host_visible", kernel.Output);
        Assert.Contains("+context_init", kernel.Output);
        Assert.Matches(@"cap set \d+: id 4,", kernel.Output);
        Assert.Contains("renderD128", kernel.Output);
    }

    [Fact]
    public void OurIcdChoosesTheRenderNodeNotVtest()
    {
        VmStep step = Passed("ours-summary");
        Assert.Contains("venus: transport: virtgpu:/dev/dri/renderD128", step.Output);
        // No vtest transport and no vtest socket (the word itself may appear in a reason the log gives).
        Assert.DoesNotContain("transport: vtest", step.Output);
        Assert.DoesNotContain("vtest:/", step.Output);
    }

    [Fact]
    public void VulkaninfoThroughOurIcdListsTheDevice()
    {
        VulkanInfoSummary summary = VulkanInfoSummary.Parse(Passed("ours-summary").Output);
        SummaryDevice device = Assert.Single(summary.Devices);
        output.WriteLine($"ours: {device.Name}, {device.ApiVersion}, {device.DriverName}");
        Assert.StartsWith("Virtio-GPU Venus.NET (", device.Name);
        Assert.Contains("llvmpipe", device.Name);
        Assert.Equal("Venus.NET", device.DriverName);
        Assert.True(device.ApiVersion >= new VkVersion(1, 3, 0), $"apiVersion {device.ApiVersion}");
    }

    /// <summary>Device name, apiVersion and extensions, ours against Mesa's in the same boot.</summary>
    [Fact]
    public void OurIcdMatchesOrExceedsMesasVenusInTheSameBoot()
    {
        VulkanInfoFull.Device ours = Assert.Single(VulkanInfoFull.Parse(Passed("ours-full").Output).Devices);
        VulkanInfoFull.Device mesa = Assert.Single(VulkanInfoFull.Parse(Passed("mesa-full").Output).Devices);
        output.WriteLine($"ours: '{ours.Name}' {ours.ApiVersion}, {ours.Extensions.Count} device extensions");
        output.WriteLine($"Mesa: '{mesa.Name}' {mesa.ApiVersion}, {mesa.Extensions.Count} device extensions");
        output.WriteLine("only Mesa: " + string.Join(' ', mesa.Extensions.Keys.Except(ours.Extensions.Keys).Order()));
        output.WriteLine("only ours: " + string.Join(' ', ours.Extensions.Keys.Except(mesa.Extensions.Keys).Order()));

        // Both name the same host device: "Virtio-GPU Venus (X)" and "Virtio-GPU Venus.NET (X)".
        Assert.Equal(HostDevice(mesa.Name), HostDevice(ours.Name));
        Assert.Equal(ours.DeclaredExtensionCount, ours.Extensions.Count);
        Assert.Equal(mesa.DeclaredExtensionCount, mesa.Extensions.Count);
        Assert.True(ours.ApiVersion >= mesa.ApiVersion, $"ours {ours.ApiVersion} < Mesa's {mesa.ApiVersion}");
        Assert.True(ours.ApiVersion >= new VkVersion(1, 3, 0), $"ours {ours.ApiVersion}: the host allows 1.3");
        Assert.True(ours.Extensions.Count >= mesa.Extensions.Count,
            $"ours lists {ours.Extensions.Count} device extensions, Mesa's {mesa.Extensions.Count}; only Mesa: " +
            string.Join(' ', mesa.Extensions.Keys.Except(ours.Extensions.Keys).Order()));
        // The DRM and PCI identity come from the render node in both drivers: they must agree.
        Assert.Contains("VK_EXT_physical_device_drm", ours.Extensions.Keys);
        Assert.Contains("VK_EXT_pci_bus_info", ours.Extensions.Keys);
    }

    private static string HostDevice(string name)
    {
        Match m = Regex.Match(name, @"^Virtio-GPU Venus(?:\.NET)? \((.*)\)$");
        Assert.True(m.Success, $"device name '{name}'");
        return m.Groups[1].Value;
    }

    [Fact]
    public void TheComputeJobPassesThroughOurIcd()
    {
        VmStep step = Passed("ours-compute");
        Assert.Contains("Venus.NET", step.Output);
        Assert.Matches(@"compute: N=1048576 ok ", step.Output);
    }

    [Fact]
    public void MesasComputeJobPassesInTheSameBoot()
    {
        VmStep step = Passed("mesa-compute");
        Assert.Matches(@"compute: N=1048576 ok ", step.Output);
    }

    [Fact]
    public void SynchronizationWorksThroughOurIcd()
    {
        VmStep step = Passed("ours-sync");
        Assert.Contains("sync: all ok", step.Output);
    }

    /// <summary>
    /// Push descriptors (plain and templates), device groups, calibrated timestamps, tooling info,
    /// memory reports, DRM and PCI bus info, with results read back through virtio-gpu memory;
    /// the DRM and PCI values ours reports equal Mesa's.
    /// </summary>
    [Fact]
    public void DriverImplementedExtensionsWorkAndAgreeWithMesa()
    {
        VmStep ours = Passed("ours-exts");
        Assert.Contains("exts: all ok", ours.Output);
        foreach (string step in new[] { "push", "push-template", "device-group", "calibrated", "tooling", "memory-report", "drm" })
            Assert.Contains($"exts: {step} ok", ours.Output);
        VmStep mesa = Passed("mesa-exts");
        Assert.Contains("exts: all ok", mesa.Output);
        string[] Identity(string text) => text.Split('\n')
            .Where(l => l.StartsWith("exts: drm ", StringComparison.Ordinal) || l.StartsWith("exts: pci ", StringComparison.Ordinal))
            .ToArray();
        output.WriteLine(string.Join('\n', Identity(ours.Output)));
        Assert.NotEmpty(Identity(ours.Output));
        Assert.Equal(Identity(mesa.Output), Identity(ours.Output));
    }

    /// <summary>
    /// tests/clients/extfd.c inside the VM on virglrenderer 1.1.0's render server: Mesa's guest offers no
    /// memory fds there (its host driver, lavapipe, cannot export dma-bufs), and neither does ours
    /// (VENUS_DEBUG=init says why); the fence round trip (the guest's own SYNC_FD) passes in both.
    /// </summary>
    [Fact]
    public void ExtfdOnVirglrenderersServerLeavesMemoryFdsOutAsMesaDoes()
    {
        VmStep ours = Passed("ours-extfd");
        Assert.Contains("extfd: all ok", ours.Output);
        Assert.Contains("extfd: extensions memory_fd=0 dma_buf=0 fence_fd=1", ours.Output);
        Assert.Contains("extfd: fence ok", ours.Output);
        Assert.Contains("venus: device extension VK_KHR_external_memory_fd left out: ", ours.Output);
        VmStep mesa = Passed("mesa-extfd");
        Assert.Contains("extfd: all ok", mesa.Output);
        Assert.Contains("extfd: extensions memory_fd=0 dma_buf=0", mesa.Output);
    }

    /// <summary>Before virtio_gpu is loaded there is no render node: a clean refusal, not a crash.</summary>
    [Fact]
    public void NoRenderNodeIsAnIncompatibleDriverWithOneLogLine()
    {
        VmStep step = Boot.Step("ours-no-node");
        VmAssert.CleanRefusal(step, "venus: no virtio-gpu device for Venus: no render node in /dev/dri");
    }

    [Fact]
    public void ANodeThatIsNotVirtioGpuIsRefusedWithTheReason()
    {
        VmStep step = Boot.Step("ours-not-virtgpu");
        VmAssert.CleanRefusal(step, "venus: no virtio-gpu device for Venus: DRM_IOCTL_VERSION failed on /dev/null");
    }

    /// <summary><c>venus doctor</c> in the guest, with the apps' environment: the render node carries Venus, exit 0.</summary>
    [Fact]
    public void DoctorInTheWorkingVmExitsZero()
    {
        VmStep step = Passed("doctor-venus");
        Assert.Contains("ok    transport   virtio-gpu: /dev/dri/renderD128 carries Venus", step.Output);
        Assert.Matches(@"ok    trial .*Virtio-GPU Venus\.NET \(llvmpipe.*vkCreateDevice succeeds", step.Output);
        Assert.Contains("verdict: an application here gets our Venus device", step.Output);
        Assert.DoesNotContain("FAIL", step.Output);
    }

    /// <summary>A node that is not virtio-gpu (VENUS_RENDER_NODE=/dev/null): doctor names the node and why, exit 1.</summary>
    [Fact]
    public void DoctorOnANodeThatIsNotVirtioGpuFailsNamingIt()
    {
        VmAssert.DoctorFailsOnNodes(Boot.Step("doctor-not-virtgpu"), "/dev/null: DRM_IOCTL_VERSION failed on /dev/null", "/dev/null");
    }

    /// <summary>
    /// vgem, a DRM driver that is not virtio-gpu, loaded at the end of the boot: next to the
    /// virtio-gpu node doctor names its node and driver and still finds Venus (exit 0); pointed at
    /// the vgem node alone it fails naming the driver (exit 1).
    /// </summary>
    [Fact]
    public void DoctorNamesARenderNodeOfAnotherDriver()
    {
        VmStep both = Passed("doctor-with-vgem");
        Match vgem = Regex.Match(both.Output, @"info  transport   (/dev/dri/renderD\d+): .*driver is 'vgem'");
        Assert.True(vgem.Success, $"doctor did not name the vgem node:\n{both.Output}");
        Assert.Contains("ok    transport   virtio-gpu: /dev/dri/renderD128 carries Venus", both.Output);
        Assert.Contains("verdict: an application here gets our Venus device", both.Output);
        string node = vgem.Groups[1].Value;
        VmAssert.DoctorFailsOnNodes(Boot.Step("doctor-vgem"), Regex.Escape(node) + ": .*driver is 'vgem'", node);
    }

    /// <summary>3 GiB of host-visible memory does not fit the 2 GiB host window: vkMapMemory fails, nothing crashes.</summary>
    [Fact]
    public void MemoryBeyondTheHostWindowFailsToMapCleanly()
    {
        VmStep step = Boot.Step("ours-map-too-big");
        Assert.Equal(2, step.ExitCode);
        Assert.Contains("compute: vkMapMemory failed: -5 (VK_ERROR_MEMORY_MAP_FAILED)", step.Output);
        Assert.Matches(@"venus: vkMapMemory: the host could not share memory 0x[0-9a-f]+ \(3221225472 bytes\) as a blob: VIRTGPU_RESOURCE_CREATE_BLOB", step.Output);
    }

    /// <summary>
    /// tests/clients/wsi.c headless: 30 frames to a VK_EXT_headless_surface over /dev/dri, each cleared
    /// to its own colour; the last presented image, acquired again and copied to a buffer, holds the last.
    /// </summary>
    [Fact]
    public void HeadlessFramesThroughOurIcdKeepTheLastImage()
    {
        VmStep step = Passed("ours-wsi-headless");
        Assert.Contains("wsi: 30 headless frames;", step.Output);
        Assert.Contains("0 channels off", step.Output);
        Assert.Contains("wsi: headless ok", step.Output);
    }

    /// <summary>
    /// vkmark --winsys headless (VK_EXT_headless_surface and a real swapchain), its 13 default scenes at
    /// a second each, through our ICD over /dev/dri: every scene and a score. Mesa's guest runs the same
    /// in the boot; on this host it offers no swapchain (virglrenderer 1.1.0 imports no sync_fd semaphores
    /// and passes on lavapipe, which has no VK_EXT_image_drm_format_modifier), so its outcome is only reported; on our render server
    /// it runs (RenderServerVmTests).
    /// </summary>
    [Fact]
    public void VkmarkHeadlessRunsEveryDefaultSceneThroughOurIcd()
    {
        VmStep ours = Passed("ours-vkmark");
        int scenes = Regex.Matches(ours.Output, @"^\[\w+\] [^\n]*: FPS: \d+", RegexOptions.Multiline).Count;
        Match score = Regex.Match(ours.Output, @"vkmark Score: (\d+)");
        VmStep mesa = Boot.Step("mesa-vkmark");
        Match mesaScore = Regex.Match(mesa.Output, @"vkmark Score: (\d+)");
        output.WriteLine($"ours: {scenes} scenes, score {(score.Success ? score.Groups[1].Value : "none")}; " +
                         $"Mesa's: exit {mesa.ExitCode}, score {(mesaScore.Success ? mesaScore.Groups[1].Value : "none")}" +
                         (mesa.ExitCode != 0 ? $" ({mesa.Output.Split('\n').LastOrDefault(l => l.Contains("rror", StringComparison.Ordinal))?.Trim()})" : ""));
        Assert.Equal(13, scenes);
        Assert.True(score.Success && int.Parse(score.Groups[1].Value, CultureInfo.InvariantCulture) > 0, $"no score:\n{ours.Output}");
    }
}

/// <summary>
/// The wall times of the closing note (scenario timing): full vulkaninfo and the compute job,
/// ours and Mesa's interleaved in one boot, each after a one-second pause.
/// </summary>
[Collection("vm")]
public sealed class TimingVmTests(VmBootsFixture fixture, ITestOutputHelper output)
{
    /// <summary>The wall times of the closing note: vulkaninfo and the compute job, ours vs Mesa's, interleaved.</summary>
    [Fact]
    public void TimedRunsAllPass()
    {
        foreach (string what in new[] { "vulkaninfo", "compute" })
        {
            foreach (string who in new[] { "ours", "mesa" })
            {
                var times = new List<double>();
                for (int i = 1; i <= 3; i++)
                    times.Add(Step($"time-{who}-{what}-{i}").WallMs);
                times.Sort();
                output.WriteLine($"{what} {who}: median {times[1].ToString("0.0", CultureInfo.InvariantCulture)} ms " +
                    $"({string.Join(", ", times.Select(t => t.ToString("0.0", CultureInfo.InvariantCulture)))})");
            }
        }
    }

    private VmStep Step(string name)
    {
        VmStep step = fixture.Boot("timing").Step(name);
        Assert.True(step.ExitCode == 0, $"step {step}");
        return step;
    }
}

/// <summary>A virtio-gpu device without the venus capset (virgl only, no blobs): both drivers refuse it.</summary>
[Collection("vm")]
public sealed class NoVenusVmTests(VmBootsFixture fixture)
{
    [Fact]
    public void OurIcdRefusesANodeWithoutTheVenusCapsetAndSaysWhy()
    {
        VmStep step = fixture.Boot("novenus").Step("ours-novenus");
        Assert.Contains("no venus capset (the device offers virgl, virgl2)", step.Output);
        VmAssert.CleanRefusal(step, "venus: no virtio-gpu device for Venus: /dev/dri/renderD128");
    }

    /// <summary><c>venus doctor</c> on the virgl-only device: the node lacks the venus capset, exit 1.</summary>
    [Fact]
    public void DoctorSaysTheNodeLacksTheVenusCapset()
    {
        VmAssert.DoctorFailsOnNodes(fixture.Boot("novenus").Step("doctor-novenus"),
            @"/dev/dri/renderD128 \(virtio_gpu\): cannot carry Venus: .*no venus capset \(the device offers virgl, virgl2\)", "/dev/dri/renderD128");
    }

    [Fact]
    public void MesasDriverAlsoFindsNoDevice()
    {
        VmStep step = fixture.Boot("novenus").Step("mesa-novenus");
        Assert.NotEqual(0, step.ExitCode);
    }
}
