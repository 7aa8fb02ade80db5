using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/threads.c: four app threads at once create layouts (sent without a reply) and at
/// once allocate descriptor sets of them (calls with a reply), ask round-trip queries, make and poll
/// fences and submit fills, while the main thread asks vkGetImageSubresourceLayout; every 10th round
/// each thread hands a shader module, set layout and pipeline layout it just created (without a
/// reply) to the next thread, which at once creates a compute pipeline of them (a slow call, on a
/// call ring), allocates a set, runs it and checks the results (on virglrenderer it maps nothing and
/// checks nothing: our ICD cannot map memory there). Through our ICD
/// on venus-host and on virglrenderer 1.1.0 (both run several rings per context): by default (calls
/// of all threads wait at once on the instance ring, pipeline creation on call rings), with
/// VENUS_PERF=thread_rings (every call on a call ring) and serial_calls (the path before: one call
/// at a time, no call rings), and under the validation layer. VENUS_DEBUG=init names each call ring
/// made: at most one per call in flight at once (main + 4 threads), none with serial_calls.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed partial class ThreadRingTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private string Client => $"{fx.Clients.Executable("threads")} 4 100 {fx.Clients.Spirv("compute.comp")}";

    /// <summary>Our ICD cannot map lavapipe's host-visible memory on virglrenderer 1.1.0 (README), whose server then drops the client: no mapping there.</summary>
    private string ClientFor(HostKind kind) => kind == HostKind.VenusHost ? Client : $"{Client} unmapped";

    [Fact]
    public void NativeLavapipeControl()
    {
        RunResult run = fx.RunNative(Client, Timeout);
        output.WriteLine(run.ToString());
        Assert.True(run.Succeeded, run.ToString());
        Assert.Contains("threads: 40 hand-overs, 40 dispatches checked", run.Stdout);
        Assert.Contains("threads: all ok", run.Stdout);
    }

    [Theory]
    [InlineData(HostKind.VenusHost, "", 1, 4)]
    [InlineData(HostKind.VenusHost, "thread_rings", 1, 5)]
    [InlineData(HostKind.VenusHost, "serial_calls", 0, 0)]
    [InlineData(HostKind.VirglRenderer, "", 1, 4)]
    [InlineData(HostKind.VirglRenderer, "thread_rings", 1, 5)]
    public void ThroughOurIcdThreadsShareTheRingsInOrder(HostKind kind, string perf, int minRings, int maxRings)
    {
        RunningHost host = fx.SharedHost(kind);
        DriverRun run = fx.RunThroughIcd(host, ClientFor(kind), Timeout,
            new Dictionary<string, string> { ["VENUS_PERF"] = perf, ["VENUS_DEBUG"] = "init" });
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded, run.ToString());
        Assert.Contains("threads: 4 threads x 100 rounds ok", run.Run.Stdout);
        Assert.Contains(kind == HostKind.VenusHost ? "threads: 40 hand-overs, 40 dispatches checked" : "threads: 40 hand-overs, 40 dispatches unchecked", run.Run.Stdout);
        Assert.Contains("threads: all ok", run.Run.Stdout);
        int rings = CallRing().Matches(run.Run.Stderr).Count;
        Assert.InRange(rings, minRings, maxRings);
    }

    [Fact]
    public void ThroughOurIcdUnderTheValidationLayerOnVenusHost()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, Client, TimeSpan.FromSeconds(180),
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" });
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded, run.ToString());
        Assert.Contains("threads: 40 hand-overs, 40 dispatches checked", run.Run.Stdout);
        Assert.Contains("threads: all ok", run.Run.Stdout);
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    [GeneratedRegex(@"venus: call ring 0x[0-9a-f]+ made for thread \d+")]
    private static partial Regex CallRing();
}
