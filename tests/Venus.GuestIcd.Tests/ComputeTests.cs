using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/compute.c (two HOST_VISIBLE|HOST_COHERENT storage buffers, mapped; out[i] = in[i] * 3 + 7;
/// every value checked by the client) through our ICD. On venus-host it must pass. virglrenderer 1.1.0
/// cannot export lavapipe's host-visible memory, so there the job is expected to fail, but cleanly:
/// the client must end within its time limit with a failing VkResult it printed (Mesa's guest hangs
/// in vkMapMemory instead: see Venus.Interop.Tests), never hang and never die of a signal.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class ComputeTests(IcdFixture fx, ITestOutputHelper output)
{
    public const uint DefaultN = 1u << 20;

    /// <summary>On virglrenderer the client must be done within this (its own alarm; the harness's limit is a second guard).</summary>
    private const int NoHangSeconds = 20;

    public static readonly Regex OkLine = new(@"^compute: N=(\d+) ok .*$", RegexOptions.Multiline);

    /// <summary>compute.c's failure line: "compute: vkMapMemory failed: -5 (VK_ERROR_MEMORY_MAP_FAILED)".</summary>
    public static readonly Regex FailedLine = new(@"^compute: (\w+) failed: (-\d+) \(([^)]+)\)\s*$", RegexOptions.Multiline);

    public static string Command(ClientBuild clients, uint n, int clientTimeoutSeconds) =>
        $"{clients.Executable("compute")} {clients.Spirv("compute.comp")} {n} {clientTimeoutSeconds}";

    [Fact]
    public void ClientsBuildInsideTheChroot()
    {
        ClientBuild clients = fx.Clients;
        output.WriteLine($"built in {clients.ChrootDir} ({Outcome.Ms(clients.BuildLog.Wall)})");
        output.WriteLine(clients.BuildLog.Stdout + clients.BuildLog.Stderr);
        Assert.True(clients.BuildLog.Succeeded);
        foreach (string name in new[] { "compute", "hostkill", "icdsyms" })
            Assert.True(File.Exists(fx.PeersRoot + clients.Executable(name)), $"{name} was not built:\n{clients.BuildLog}");
    }

    [Fact]
    public void NativeLavapipeControl()
    {
        RunResult run = fx.RunNative(Command(fx.Clients, DefaultN, 30), TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        Assert.True(run.Succeeded && OkLine.IsMatch(run.Stdout), run.ToString());
    }

    [Theory]
    [InlineData(DefaultN)]
    [InlineData(256u)]
    public void ThroughOurIcdOnVenusHostPasses(uint n)
    {
        ClientBuild clients = fx.Clients;
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, Command(clients, n, 30), TimeSpan.FromSeconds(60),
            new Dictionary<string, string> { ["COMPUTE_VERBOSE"] = "1" });
        output.WriteLine($"compute N={n} through our ICD on venus-host: {run.Run.Outcome}, {Outcome.Ms(run.Run.Wall)}");
        output.WriteLine(run.Run.Stdout.TrimEnd());
        Assert.True(run.Run.Succeeded, $"the compute client through our ICD on venus-host failed:\n{run}");
        Match ok = OkLine.Match(run.Run.Stdout);
        Assert.True(ok.Success, $"no 'compute: N=... ok' line:\n{run}");
        Assert.Equal(n.ToString(), ok.Groups[1].Value);
    }

    /// <summary>
    /// The compute job's vkWaitForFences lasts tens of milliseconds on lavapipe, past the wait's spins
    /// and yields, so it sleeps on venus-host's retire signal (Runtime/HostWake.cs: a timeline sync
    /// over vtest) and is woken by it, in both isolation modes; with VENUS_PERF=no_host_wake it polls
    /// and never asks for one. Both pass the job.
    /// </summary>
    [Theory]
    [InlineData("thread")]
    [InlineData("process")]
    public void LongFenceWaitsSleepOnTheHostsRetireSignal(string isolation)
    {
        using RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", isolation);
        foreach (bool wake in new[] { true, false })
        {
            var env = new Dictionary<string, string> { ["VENUS_DEBUG"] = "init,wait" };
            if (!wake)
                env["VENUS_PERF"] = "no_host_wake";
            DriverRun run = fx.RunThroughIcd(host, Command(fx.Clients, DefaultN, 30), TimeSpan.FromSeconds(60), env);
            output.WriteLine($"{(wake ? "host wake" : "no_host_wake")}: {run.Run.Outcome}\n{run.Run.Stdout.TrimEnd()}");
            Assert.True(run.Run.Succeeded && OkLine.IsMatch(run.Run.Stdout), $"the compute job failed:\n{run}");
            string log = run.Run.Stderr;
            if (wake)
            {
                Assert.Contains("long fence waits sleep on the host's retire signal (ring_idx 1, vtest:", log);
                Assert.Matches(@"fence wait: the host's retire signal on ring_idx 1 fired", log);
            }
            else
            {
                Assert.DoesNotContain("retire signal", log);
            }
            Assert.True(run.HostAliveAfter, $"the host died:\n{run}");
        }
        Assert.DoesNotContain("fatal", host.ReadLog());
    }

    /// <summary>
    /// virglrenderer 1.1.0 drops the client when Mesa-style blob export of host-visible memory fails
    /// (peers.md). Our ICD must turn that into a failing VkResult (e.g. VK_ERROR_MEMORY_MAP_FAILED or
    /// VK_ERROR_DEVICE_LOST from vkAllocateMemory/vkMapMemory) rather than hang; success is also fine.
    /// </summary>
    [Theory]
    [InlineData(DefaultN)]
    [InlineData(256u)]
    public void ThroughOurIcdOnVirglRendererEndsCleanly(uint n)
    {
        ClientBuild clients = fx.Clients;
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        RunningHost host = fx.SharedHost(HostKind.VirglRenderer);
        DriverRun run = fx.RunThroughIcd(host, Command(clients, n, NoHangSeconds), TimeSpan.FromSeconds(NoHangSeconds + 15),
            new Dictionary<string, string> { ["COMPUTE_VERBOSE"] = "1" });
        output.WriteLine($"compute N={n} through our ICD on virglrenderer 1.1.0: {run.Run.Outcome}, {Outcome.Ms(run.Run.Wall)}");
        output.WriteLine(run.ToString());

        Assert.False(run.Run.TimedOut, $"the client hung past the harness's limit (killed):\n{run}");
        Assert.True(run.Run.Signal is null, $"the client died of {run.Run.Signal}:\n{run}");
        Assert.False(run.Run.ExitCode == 3, $"the client hung: its own {NoHangSeconds} s alarm ended it:\n{run}");
        if (run.Run.ExitCode == 0)
        {
            Assert.True(OkLine.IsMatch(run.Run.Stdout), $"exit 0 without the 'ok' line:\n{run}");
            output.WriteLine("RESULT: the job passed on virglrenderer");
            return;
        }
        Assert.True(run.Run.ExitCode == 2, $"expected exit 0 (passed) or 2 (a Vulkan call failed), got {run.Run.ExitCode}:\n{run}");
        Match failed = FailedLine.Match(run.Run.Stdout);
        Assert.True(failed.Success, $"exit 2 without a 'compute: <call> failed: <VkResult> (<name>)' line:\n{run}");
        output.WriteLine($"RESULT: {failed.Groups[1].Value} failed with {failed.Groups[2].Value} ({failed.Groups[3].Value}) " +
                         $"after {Outcome.Ms(run.Run.Wall)}");
        Assert.True(failed.Groups[3].Value.StartsWith("VK_ERROR_", StringComparison.Ordinal),
            $"the failing VkResult {failed.Groups[2].Value} is not a known error code ({failed.Groups[3].Value}):\n{run}");
    }
}
