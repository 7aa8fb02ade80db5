using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/threads.c: four app threads at once create layouts (sent without a reply) and at
/// once allocate descriptor sets of them (calls with a reply, on each thread's own ring in our ICD),
/// ask round-trip queries, make and poll fences and submit fills, while the main thread asks
/// vkGetImageSubresourceLayout. Through our ICD on venus-host and on virglrenderer 1.1.0 (both run
/// several rings per context), with VENUS_PERF=thread_rings and without (the default: one ring), and
/// under the validation layer; VENUS_DEBUG=init shows one ring per calling thread (main + 4) or none.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed partial class ThreadRingTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private string Client => $"{fx.Clients.Executable("threads")} 4 100";

    [Fact]
    public void NativeLavapipeControl()
    {
        RunResult run = fx.RunNative(Client, Timeout);
        output.WriteLine(run.ToString());
        Assert.True(run.Succeeded, run.ToString());
        Assert.Contains("threads: all ok", run.Stdout);
    }

    [Theory]
    [InlineData(HostKind.VenusHost, "thread_rings", 5)]
    [InlineData(HostKind.VenusHost, "", 0)]
    [InlineData(HostKind.VirglRenderer, "thread_rings", 5)]
    public void ThroughOurIcdEveryThreadGetsItsOwnRing(HostKind kind, string perf, int rings)
    {
        RunningHost host = fx.SharedHost(kind);
        DriverRun run = fx.RunThroughIcd(host, Client, Timeout,
            new Dictionary<string, string> { ["VENUS_PERF"] = perf, ["VENUS_DEBUG"] = "init" });
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded, run.ToString());
        Assert.Contains("threads: 4 threads x 100 rounds ok", run.Run.Stdout);
        Assert.Contains("threads: all ok", run.Run.Stdout);
        Assert.Equal(rings, ThreadRing().Matches(run.Run.Stderr).Count);
    }

    [Fact]
    public void ThroughOurIcdUnderTheValidationLayerOnVenusHost()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, Client, TimeSpan.FromSeconds(180),
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation", ["VENUS_PERF"] = "thread_rings" });
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded, run.ToString());
        Assert.Contains("threads: all ok", run.Run.Stdout);
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    [GeneratedRegex(@"venus: thread ring 0x[0-9a-f]+ for thread \d+")]
    private static partial Regex ThreadRing();
}
