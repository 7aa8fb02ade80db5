using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/extfd.c: device memory exported as an fd by one VkDevice and imported into a second
/// one of the same instance, written on the device by each and read back through the other; a
/// SYNC_FD fence round trip (export, import as a temporary payload, reset back to the permanent
/// one); SYNC_FD semaphore import (and export where offered). Run natively on lavapipe and through
/// our ICD on venus-host in the same test: the memory checksums and the opaque-fd properties must be
/// native's. Native lavapipe has no VK_KHR_external_fence_fd or VK_KHR_external_semaphore_fd, so those
/// steps run through our ICD only (the client checks their semantics itself). Also under the
/// validation layer.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class ExternalFdTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private string Command => fx.Clients.Executable("extfd");

    [Fact]
    public void MemoryFenceAndSemaphoreFdsThroughOurIcdLikeNative()
    {
        RunResult native = fx.RunNative(Command, Timeout);
        output.WriteLine("native:\n" + native);
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), Command, Timeout);
        output.WriteLine("ours:\n" + ours);
        Assert.True(native.Succeeded && native.Stdout.Contains("extfd: all ok"), $"extfd natively failed:\n{native}");
        Assert.True(ours.Run.Succeeded && ours.Run.Stdout.Contains("extfd: all ok"), $"extfd through our ICD failed:\n{ours}");
        Assert.Contains("extfd: memory-opaque ok", native.Stdout);
        Assert.Contains("extfd: memory-opaque ok", ours.Run.Stdout);
        Assert.Equal(Line(native.Stdout, "extfd: memory-opaque sum="), Line(ours.Run.Stdout, "extfd: memory-opaque sum="));
        // OPAQUE_FD: exportable and importable, compatible with itself — the same answer as native.
        Assert.Equal(Field(native.Stdout, "extfd: memory-props ", "opaque_fd="), Field(ours.Run.Stdout, "extfd: memory-props ", "opaque_fd="));
        // lavapipe imports dma-bufs but cannot export them (no udmabuf); this driver imports only what
        // its host exported, so it must not claim dma-buf import.
        Assert.Equal("0/0/0", Field(ours.Run.Stdout, "extfd: memory-props ", "dma_buf="));
        Assert.Contains("extfd: extensions memory_fd=1 dma_buf=1 fence_fd=1 semaphore_fd=1 queue_family_foreign=1", ours.Run.Stdout);
        Assert.Contains("extfd: sync-props fence_sync_fd=3/8/8 semaphore_sync_fd=3/10/10", ours.Run.Stdout);
        Assert.Contains("extfd: fence ok", ours.Run.Stdout);
        Assert.Contains("extfd: semaphore ok", ours.Run.Stdout);
        Assert.True(ours.HostAliveAfter, ours.ToString());
    }

    /// <summary>
    /// OPAQUE_FD fences and semaphores cannot be correct through Venus (ExternalSync.NoOpaqueFd): our ICD
    /// offers no feature for them, and VENUS_DEBUG=init says why; VK_EXT_device_generated_commands, which
    /// lavapipe has, is named as not carried (its commands have no Venus command type).
    /// </summary>
    [Fact]
    public void OpaqueFdSyncAndDeviceGeneratedCommandsAreNamedUnderVenusDebugInit()
    {
        DriverRun ours = fx.RunThroughIcd(fx.SharedHost(HostKind.VenusHost), Command, Timeout,
            new Dictionary<string, string> { ["VENUS_DEBUG"] = "init" });
        output.WriteLine(ours.ToString());
        Assert.True(ours.Run.Succeeded && ours.Run.Stdout.Contains("extfd: all ok"), ours.ToString());
        Assert.Contains("extfd: opaque-sync-props fence_opaque_fd=0 semaphore_opaque_fd=0", ours.Run.Stdout);
        Assert.Contains("venus: external handle type OPAQUE_FD of fences and semaphores left out: an opaque fd shares one payload between devices", ours.Run.Stderr);
        Assert.Contains("venus: device extension VK_EXT_device_generated_commands left out: not carried by the Venus protocol (", ours.Run.Stderr);
    }

    /// <summary>Khronos' validation layer has nothing to say about the client, natively or through our ICD.</summary>
    [Fact]
    public void ValidationLayerIsCleanNativelyAndThroughOurIcd() =>
        fx.AssertValidationLayerIsSilent(Command, Timeout, "extfd: all ok", output);

    /// <summary>
    /// virglrenderer 1.1.0 on lavapipe drops a vtest client at a SHAREABLE blob of exportable memory, and
    /// does not say (as venus-host does) that it shares device memory as blobs: our ICD then leaves the
    /// memory fds and VK_EXT_queue_family_foreign out, and the client's fence round trip (this driver's
    /// own) still passes. That host has no VK_KHR_external_semaphore_fd.
    /// </summary>
    [Fact]
    public void OnVirglRendererMemoryFdsAreLeftOutAndFencesStillWork()
    {
        DriverRun run = fx.RunThroughIcd(fx.SharedHost(HostKind.VirglRenderer), Command, Timeout);
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded && run.Run.Stdout.Contains("extfd: all ok"), run.ToString());
        Assert.Contains("extfd: extensions memory_fd=0 dma_buf=0 fence_fd=1 semaphore_fd=0 queue_family_foreign=0", run.Run.Stdout);
        Assert.Contains("extfd: fence ok", run.Run.Stdout);
    }

    private static string Line(string stdout, string prefix) =>
        stdout.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no line starting with '{prefix}' in:\n{stdout}");

    private static string Field(string stdout, string prefix, string key) =>
        Line(stdout, prefix).Split(' ').First(f => f.StartsWith(key, StringComparison.Ordinal))[key.Length..];
}
