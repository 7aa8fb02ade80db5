using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// tests/clients/queries.c: timestamp, occlusion and pipeline-statistics queries, read with and
/// without VK_QUERY_RESULT_WAIT_BIT, 64-bit and 32-bit, with availability and partial results, after
/// host and command-buffer resets. Our ICD answers vkGetQueryPoolResults from feedback slots on
/// venus-host (Runtime/QueryFeedback.cs) and from the host on virglrenderer 1.1.0 (no shared
/// memory) and with VENUS_PERF=no_query_feedback; every way must print the same results as native
/// lavapipe ("queries: value ..." lines), the validation layer must stay silent, and with feedback
/// no vkGetQueryPoolResults may reach the host.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed partial class QueryTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly string[] Steps = ["timestamp", "cmdreset", "hostreset", "occlusion", "stats", "stride", "wait", "reuse"];

    private string Client => $"{fx.Clients.Executable("queries")} {fx.Clients.Spirv("compute.comp")}";

    private string NativeValues()
    {
        RunResult run = fx.RunNative(Client, Timeout);
        output.WriteLine("native: " + run);
        AssertAllSteps(run.Succeeded, run.Stdout, run.ToString());
        return Values(run.Stdout);
    }

    [Fact]
    public void NativeLavapipeControl() => Assert.NotEmpty(NativeValues());

    [Theory]
    [InlineData(HostKind.VenusHost, "")]
    [InlineData(HostKind.VenusHost, "no_query_feedback")]
    [InlineData(HostKind.VirglRenderer, "")]
    public void ThroughOurIcdTheResultsAreNativeOnes(HostKind kind, string perf)
    {
        string native = NativeValues();
        RunningHost host = fx.SharedHost(kind);
        DriverRun run = fx.RunThroughIcd(host, Client, Timeout, new Dictionary<string, string> { ["VENUS_PERF"] = perf });
        output.WriteLine(run.ToString());
        AssertAllSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString());
        Assert.Equal(native, Values(run.Run.Stdout));
    }

    [Fact]
    public void ThroughOurIcdUnderTheValidationLayerOnVenusHost()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughIcd(host, Client, TimeSpan.FromSeconds(120),
            new Dictionary<string, string> { ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation" });
        output.WriteLine(run.ToString());
        AssertAllSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString());
        Assert.DoesNotContain("Validation Error", run.Run.Stdout + run.Run.Stderr);
    }

    /// <summary>Counted on the wire (VENUS_RECORD): with feedback no vkGetQueryPoolResults reaches venus-host; without, every one does.</summary>
    [Fact]
    public void QueryResultsAreReadFromFeedbackWithoutAHostCall()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        int Count(string perf)
        {
            string chroot = $"/tmp/venus-rec-queries-{Guid.NewGuid():N}";
            string hostPath = fx.PeersRoot + chroot;
            Directory.CreateDirectory(hostPath);
            try
            {
                DriverRun run = fx.RunThroughIcd(host, Client, Timeout, new Dictionary<string, string> { ["VENUS_RECORD"] = chroot, ["VENUS_PERF"] = perf });
                output.WriteLine(run.ToString());
                AssertAllSteps(run.Run.Succeeded, run.Run.Stdout, run.ToString());
                string[] files = Directory.GetFiles(hostPath, "*.venus");
                Assert.True(files.Length == 1, $"expected one recording in {hostPath}, found {files.Length}");
                RunResult dump = fx.RunInChroot($"{fx.Cli} dump --check {files[0][fx.PeersRoot.Length..]}", GuestDriverFixture.BaseEnvironment(), Timeout);
                Assert.True(dump.Succeeded, dump.ToString());
                List<string> names = dump.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => CommandName().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
                int n = names.Count(c => c == "vkGetQueryPoolResults");
                output.WriteLine($"VENUS_PERF='{perf}': {n} vkGetQueryPoolResults, {names.Count(c => c == "vkCmdCopyQueryPoolResults")} vkCmdCopyQueryPoolResults on the wire");
                if (perf == "")
                    Assert.Contains("vkCmdCopyQueryPoolResults", names);
                return n;
            }
            finally
            {
                Directory.Delete(hostPath, recursive: true);
            }
        }
        Assert.Equal(0, Count(""));
        int asked = Count("no_query_feedback");
        Assert.True(asked >= 20, $"without feedback only {asked} vkGetQueryPoolResults reached the host");
    }

    private static string Values(string stdout) =>
        string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("queries: value ", StringComparison.Ordinal)));

    private static void AssertAllSteps(bool succeeded, string stdout, string describe)
    {
        Assert.True(succeeded, $"queries failed:\n{describe}");
        foreach (string step in Steps)
            Assert.Contains($"queries: {step} ok", stdout);
        Assert.Contains("queries: all ok", stdout);
    }

    [GeneratedRegex(@"^\[[^\]]*\] ([A-Za-z0-9_]+)\(")]
    private static partial Regex CommandName();
}
