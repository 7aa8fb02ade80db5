using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// A guest that destroys what its own unfinished queue work still uses (tests/clients/inflight.c:
/// a pipeline, its layout, the descriptor pool and set layout, the buffer, its memory and the
/// command pool, 300 ms into a dispatch that the client calibrates to about 2 s on the device it runs on:
/// a fixed loop count ran out within the 300 ms on a fast CI machine) against one venus-host with
/// <c>--isolation thread</c>, where a driver crash would take the whole host down. The host must
/// hold the destruction back until the queue work is done (Context/SubmitRetire.cs: it logs one
/// line per context when a destruction had to wait), stay up, log nothing fatal, and a second,
/// well-behaved client (compute.c, every value checked) must then run correctly on the same host.
/// Through our ICD and through Mesa's guest.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class InflightDestroyTests(IcdFixture fx, ITestOutputHelper output)
{
    [Theory]
    [InlineData("ours")]
    [InlineData("mesa")]
    public void DestructionWaitsForTheDispatchAndTheHostLivesOn(string driver)
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", "thread");
        string inflight = $"{fx.Clients.Executable("inflight")} {fx.Clients.Spirv("inflight.comp")}";
        DriverRun run = driver == "ours"
            ? fx.RunThroughIcd(host, inflight, TimeSpan.FromSeconds(90))
            : fx.RunThroughMesa(host, inflight, TimeSpan.FromSeconds(90));
        output.WriteLine($"inflight: {run}");
        Assert.True(run.HostAliveAfter, $"the host died:\n{run}\n{host.LogTail(40)}");
        Assert.True(run.Run.Succeeded, $"inflight failed:\n{run}");
        Assert.Contains("inflight: destroyed while busy ok", run.Run.Stdout);
        string log = host.ReadLog();
        Assert.Matches(@"context \S+: vk\w+ waits for queue work that may still use the object", log);

        string compute = ComputeTests.Command(fx.Clients, 4096, 30);
        DriverRun second = driver == "ours"
            ? fx.RunThroughIcd(host, compute, TimeSpan.FromSeconds(60))
            : fx.RunThroughMesa(host, compute, TimeSpan.FromSeconds(60));
        output.WriteLine($"compute: {second}");
        Assert.True(second.Run.Succeeded && ComputeTests.OkLine.IsMatch(second.Run.Stdout), $"the second client failed:\n{second}");
        Assert.True(second.HostAliveAfter, $"the host died:\n{second}");
        Assert.DoesNotContain("fatal", host.ReadLog());
    }
}
