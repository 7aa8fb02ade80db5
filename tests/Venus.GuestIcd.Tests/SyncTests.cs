using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/sync.c: Vulkan 1.3 synchronization through our ICD — vkQueueSubmit2 with a
/// synchronization2 barrier and a fence (results read back through a mapped buffer), a timeline
/// semaphore signalled by the GPU and by the host, waited on and timing out, events set by a
/// command buffer and by the host, timestamp queries read with VK_QUERY_RESULT_WAIT_BIT, and the
/// idle waits, then fences (created signalled, any/all waits with timeouts, an empty submit, two
/// batches polled with vkGetFenceStatus, an empty sparse bind), which our ICD answers from feedback
/// slots where the host shares memory and from the host elsewhere (virglrenderer). Mesa's guest cannot run it on these hosts (it reports Vulkan 1.2); native lavapipe
/// is the control. On virglrenderer the read-back is left out ("nomap"): it cannot share memory.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class SyncTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly string[] Steps = ["fence", "timeline", "event", "query", "idle", "fences"];

    [Fact]
    public void NativeLavapipeControl()
    {
        RunResult run = fx.RunNative(fx.Clients.Executable("sync"), TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        AssertAllSteps(run.Succeeded, run.Stdout, run.ToString());
    }

    [Theory]
    [InlineData(HostKind.VenusHost, "")]
    [InlineData(HostKind.VirglRenderer, " nomap")]
    public void ThroughOurIcdEveryStepPasses(HostKind kind, string args)
    {
        RunningHost host = fx.SharedHost(kind);
        DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("sync") + args, TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        // venus-host passes lavapipe's Vulkan 1.4; virglrenderer 1.1.0's capset stops at vk.xml 1.3.
        Assert.Contains(kind == HostKind.VenusHost ? "api=1.4." : "api=1.3.", run.Run.Stdout);
        AssertAllSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString());
    }

    [Fact]
    public void ThroughOurIcdUnderTheValidationLayerOnVenusHost()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("sync"), TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" });
        output.WriteLine(run.ToString());
        AssertAllSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString());
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    private static void AssertAllSteps(bool succeeded, string stdout, string describe)
    {
        Assert.True(succeeded, $"sync failed:\n{describe}");
        foreach (string step in Steps)
            Assert.Contains($"sync: {step} ok", stdout);
        Assert.Contains("sync: all ok", stdout);
    }
}
