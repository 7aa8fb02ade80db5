using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// VENUS_RECORD=DIR: our ICD writes what it sends, in venus-host's recording format, against any
/// host. Against virglrenderer 1.1.0 (which cannot share host-visible memory, so sync.c in its
/// "nomap" mode) the recording decodes completely with
/// <c>venus dump --check</c>; against venus-host started with <c>--record</c> the two recordings of
/// the same run hold the same commands (what the guest sent is what the host ran). Both kinds of
/// recording replay (<c>venus replay</c>) on venus-host and on virglrenderer with every command
/// succeeding.
/// </summary>
[Collection(IcdCollection.Name)]
public sealed partial class RecordingTests(IcdFixture fx, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private string ComputeJob => $"{fx.Clients.Executable("compute")} {fx.Clients.Spirv("compute.comp")} 4096";

    /// <summary>A fresh folder under the chroot's /tmp: (chroot path, host path).</summary>
    private (string Chroot, string Host) NewFolder(string what)
    {
        string chroot = $"/tmp/venus-rec-{what}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(fx.PeersRoot + chroot);
        return (chroot, fx.PeersRoot + chroot);
    }

    private (RunResult Run, List<string> Commands) Dump(string chrootFile)
    {
        RunResult run = fx.RunInChroot($"{fx.Cli} dump --check {chrootFile}", GuestDriverFixture.BaseEnvironment(), Timeout);
        Assert.True(run.Succeeded, run.ToString());
        Assert.Matches(@"venus dump: \d+ commands, 0 undecodable, 0 re-encode differently", run.Stderr);
        List<string> names = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => CommandName().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        return (run, names);
    }

    /// <summary><c>venus replay</c> of <paramref name="chrootFile"/> on <paramref name="host"/>: every command succeeds.</summary>
    private void Replay(string chrootFile, RunningHost host)
    {
        RunResult run = fx.RunInChroot($"{fx.Cli} replay {chrootFile} --socket {host.ChrootSocketPath}", GuestDriverFixture.BaseEnvironment(), Timeout);
        output.WriteLine($"replay on {host}: {run}");
        Assert.True(run.Succeeded, $"replay on {host}: {run}");
        Assert.Matches(@"venus replay: \d+ commands replayed, \d+ left out \(ring and transport commands\), 0 failed", run.Stderr);
        Assert.Contains("vkCreateDevice", run.Stdout);
    }

    private string OnlyFile(string hostFolder)
    {
        string[] files = Directory.GetFiles(hostFolder, "*.venus");
        Assert.True(files.Length == 1, $"expected one recording in {hostFolder}, found {files.Length}");
        return files[0][fx.PeersRoot.Length..];
    }

    [Fact]
    public void OurRecordingAgainstVirglRendererDecodesCompletely()
    {
        RunningHost host = fx.SharedHost(HostKind.VirglRenderer);
        (string chroot, string hostPath) = NewFolder("virgl");
        try
        {
            DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("sync") + " nomap", Timeout,
                new Dictionary<string, string> { ["VENUS_RECORD"] = chroot });
            output.WriteLine(run.ToString());
            Assert.True(run.Run.Succeeded, run.ToString());
            (RunResult dump, List<string> names) = Dump(OnlyFile(hostPath));
            output.WriteLine(RunResult.Tail(dump.Stdout, 20));
            Assert.Equal("vkCreateRingMESA", names[0]);
            foreach (string expected in new[] { "vkCreateInstance", "vkCreateDevice", "vkCmdFillBuffer", "vkQueueSubmit2", "vkWaitSemaphores", "vkDestroyDevice" })
                Assert.Contains(expected, names);

            string file = OnlyFile(hostPath);
            Replay(file, host);
            Replay(file, fx.SharedHost(HostKind.VenusHost));

            // The same outcome as data.
            RunResult json = fx.RunInChroot($"{fx.Cli} replay {file} --json --socket {host.ChrootSocketPath}", GuestDriverFixture.BaseEnvironment(), Timeout);
            output.WriteLine(json.ToString());
            Assert.True(json.Succeeded, json.ToString());
            using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
            System.Text.Json.JsonElement root = doc.RootElement;
            Assert.Equal(0, root.GetProperty("failed").GetInt32());
            Assert.Empty(root.GetProperty("failures").EnumerateArray());
            int replayed = root.GetProperty("replayed").GetInt32();
            Assert.True(replayed > 20, $"only {replayed} commands replayed");
            System.Text.Json.JsonElement[] types = root.GetProperty("commands").EnumerateArray().ToArray();
            Assert.Equal(replayed, types.Sum(t => t.GetProperty("count").GetInt32()));
            Assert.Contains(types, t => t.GetProperty("command").GetString() == "vkCreateDevice" && t.GetProperty("count").GetInt32() == 1);
        }
        finally
        {
            Directory.Delete(hostPath, recursive: true);
        }
    }

    [Fact]
    public void OurRecordingHoldsWhatVenusHostRan()
    {
        (string hostRecord, string hostRecordPath) = NewFolder("host");
        (string icdRecord, string icdRecordPath) = NewFolder("icd");
        try
        {
            using (RunningHost host = fx.StartHost(HostKind.VenusHost, "--isolation", "thread", "--record", hostRecord))
            {
                DriverRun run = fx.RunThroughIcd(host, ComputeJob, Timeout, new Dictionary<string, string> { ["VENUS_RECORD"] = icdRecord });
                output.WriteLine(run.ToString());
                Assert.True(run.Run.Succeeded, run.ToString());
            }
            List<string> sent = Dump(OnlyFile(icdRecordPath)).Commands;
            List<string> ran = Dump(OnlyFile(hostRecordPath)).Commands;
            Assert.True(sent.Count > 50, $"only {sent.Count} commands recorded");
            // The same commands; only where a ring notification falls between them may differ.
            Assert.Equal(sent.Order(StringComparer.Ordinal), ran.Order(StringComparer.Ordinal));

            RunningHost venusHost = fx.SharedHost(HostKind.VenusHost);
            Replay(OnlyFile(icdRecordPath), venusHost);
            Replay(OnlyFile(hostRecordPath), venusHost);
            Replay(OnlyFile(hostRecordPath), fx.SharedHost(HostKind.VirglRenderer));
        }
        finally
        {
            Directory.Delete(hostRecordPath, recursive: true);
            Directory.Delete(icdRecordPath, recursive: true);
        }
    }

    /// <summary>
    /// Status feedback, counted on the wire: sync.c asks vkGetFenceStatus over 200 times,
    /// vkGetSemaphoreCounterValue and vkGetEventStatus over 100 times each and waits on timeline
    /// semaphores. With feedback (the default on venus-host) none of them reaches the host, except
    /// the one vkGetFenceStatus after the empty vkQueueBindSparse (whose fence feedback cannot
    /// cover); with VENUS_PERF=no_fence_feedback,no_semaphore_feedback,no_event_feedback every one
    /// does (and vkResetFences, vkSetEvent, vkResetEvent and vkSignalSemaphore then still go without a reply).
    /// </summary>
    [Fact]
    public void StatusQueriesAreAnsweredFromFeedbackWithoutAHostCall()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        string[] queries = ["vkGetFenceStatus", "vkGetSemaphoreCounterValue", "vkGetEventStatus", "vkWaitSemaphores"];
        bool sparse = false;
        Dictionary<string, int> Count(string perf)
        {
            (string chroot, string hostPath) = NewFolder("status");
            try
            {
                var env = new Dictionary<string, string> { ["VENUS_RECORD"] = chroot, ["VENUS_PERF"] = perf };
                DriverRun run = fx.RunThroughIcd(host, fx.Clients.Executable("sync"), Timeout, env);
                output.WriteLine(run.ToString());
                Assert.True(run.Run.Succeeded, run.ToString());
                Assert.Contains("sync: all ok", run.Run.Stdout);
                sparse = run.Run.Stdout.Contains("sync: sparse fence ok");
                List<string> names = Dump(OnlyFile(hostPath)).Commands;
                Assert.Contains("vkCmdFillBuffer", names);
                var counts = queries.ToDictionary(q => q, q => names.Count(c => c == q));
                output.WriteLine($"VENUS_PERF='{perf}': " + string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key}")) + " on the wire");
                return counts;
            }
            finally
            {
                Directory.Delete(hostPath, recursive: true);
            }
        }
        Dictionary<string, int> fed = Count("");
        Dictionary<string, int> asked = Count("no_fence_feedback,no_semaphore_feedback,no_event_feedback");
        Assert.True(asked["vkGetFenceStatus"] >= 200, $"without feedback only {asked["vkGetFenceStatus"]} vkGetFenceStatus reached the host");
        Assert.True(asked["vkGetSemaphoreCounterValue"] >= 100, $"without feedback only {asked["vkGetSemaphoreCounterValue"]} vkGetSemaphoreCounterValue reached the host");
        Assert.True(asked["vkGetEventStatus"] >= 100, $"without feedback only {asked["vkGetEventStatus"]} vkGetEventStatus reached the host");
        Assert.True(asked["vkWaitSemaphores"] >= 3, $"without feedback only {asked["vkWaitSemaphores"]} vkWaitSemaphores reached the host");
        Assert.Equal(sparse ? 1 : 0, fed["vkGetFenceStatus"]);
        Assert.Equal(0, fed["vkGetSemaphoreCounterValue"]);
        Assert.Equal(0, fed["vkGetEventStatus"]);
        Assert.Equal(0, fed["vkWaitSemaphores"]);
    }

    [GeneratedRegex(@"^\[[^\]]*\] ([A-Za-z0-9_]+)\(")]
    private static partial Regex CommandName();
}
