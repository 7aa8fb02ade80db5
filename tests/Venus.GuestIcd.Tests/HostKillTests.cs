using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// The host dies mid-run: tests/clients/hostkill.c keeps a queue busy (submit, wait for the fence
/// with UINT64_MAX, reset) through our ICD; once it is running, the host renderer and all its
/// processes get SIGKILL. The client's next call must fail with VK_ERROR_DEVICE_LOST and the client
/// must be gone within 1 s of the kill (+1.5 s for scheduling on a loaded 2-core machine). (Mesa's
/// guest in the same spot aborts once its ring-alive check expires, many seconds later.)
/// </summary>
[Collection(IcdCollection.Name)]
public sealed class HostKillTests(IcdFixture fx, ITestOutputHelper output)
{
    private const int OkLinesBeforeKill = 2;
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Required = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan ExitWaitLimit = TimeSpan.FromSeconds(15);

    /// <summary>"fail vkWaitForFences -4 at 123456789 (VK_ERROR_DEVICE_LOST) iterations=4711".</summary>
    private static readonly Regex FailLine = new(@"^fail (\w+) (-?\d+) at (\d+) \(([^)]*)\) iterations=(\d+)\s*$", RegexOptions.Multiline);

    private static readonly Regex OkLine = new(@"^ok (\d+)\s*$", RegexOptions.Multiline);

    [Fact]
    public void HostkillClientNativeControl()
    {
        RunResult run = fx.RunNative($"{fx.Clients.Executable("hostkill")} 300", TimeSpan.FromSeconds(60));
        output.WriteLine(run.ToString());
        Assert.True(run.Succeeded, run.ToString());
        Assert.Contains("ok 300", run.Stdout);
        Assert.Contains("done 300", run.Stdout);
    }

    [Fact]
    public void HostkillClientThroughMesaVenusOnVenusHostControl()
    {
        RunningHost host = fx.SharedHost(HostKind.VenusHost);
        DriverRun run = fx.RunThroughMesa(host, $"{fx.Clients.Executable("hostkill")} 300", TimeSpan.FromSeconds(90));
        output.WriteLine(run.ToString());
        Assert.True(run.Run.Succeeded, run.ToString());
        Assert.Contains("done 300", run.Run.Stdout);
    }

    [Theory]
    [InlineData(HostKind.VenusHost)]
    [InlineData(HostKind.VirglRenderer)]
    public void KilledHostGivesDeviceLostWithinOneSecond(HostKind kind)
    {
        ClientBuild clients = fx.Clients;
        IcdInstall icd = fx.Icd;
        output.WriteLine(icd.InstallOutput);
        // venus-host in one process (--isolation thread): its pid is the renderer. virgl_test_server
        // forks virgl_render_server: the whole tree is killed at once either way.
        using RunningHost host = kind == HostKind.VenusHost ? fx.StartHost(kind, "--isolation", "thread") : fx.StartHost(kind);
        output.WriteLine($"host: {host}");
        if (kind == HostKind.VenusHost)
            Assert.True(ProcessTree.DescendantsOf(host.Pid).Count == 0,
                $"venus-host --isolation thread should be one process, but pid {host.Pid} has children " +
                string.Join(' ', ProcessTree.DescendantsOf(host.Pid)));

        var startInfo = new ProcessStartInfo("chroot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // Executed directly (no shell): chroot and env exec, so the client is this very process.
        foreach (string a in fx.ChrootArguments(fx.IcdEnvironment(host.ChrootSocketPath), [clients.Executable("hostkill")]))
            startInfo.ArgumentList.Add(a);

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        int okLines = 0;
        using var enoughOk = new ManualResetEventSlim();
        using var client = new Process { StartInfo = startInfo };
        client.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (stdout)
                stdout.AppendLine(e.Data);
            if (OkLine.IsMatch(e.Data) && Interlocked.Increment(ref okLines) >= OkLinesBeforeKill)
                enoughOk.Set();
        };
        client.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };

        string Report()
        {
            string o, err;
            lock (stdout) o = stdout.ToString();
            lock (stderr) err = stderr.ToString();
            return $"--- client stdout (last lines) ---\n{RunResult.Tail(o, 20)}\n--- client stderr (last lines) ---\n{RunResult.Tail(err, 30)}\n" +
                   $"--- host log (last lines) ---\n{host.LogTail(30)}";
        }

        IReadOnlyList<int> killed = [];
        try
        {
            client.Start();
            client.StandardInput.Close();
            client.BeginOutputReadLine();
            client.BeginErrorReadLine();
            var startClock = Stopwatch.StartNew();
            while (!enoughOk.Wait(100))
            {
                Assert.False(client.HasExited, $"the client ended (exit {(client.HasExited ? client.ExitCode : 0)}) before the host was killed:\n{Report()}");
                Assert.True(startClock.Elapsed < StartLimit,
                    $"no {OkLinesBeforeKill} 'ok' lines within {StartLimit.TotalSeconds:0} s; the client did not get going:\n{Report()}");
            }
            output.WriteLine($"{okLines} 'ok' lines after {Outcome.Ms(startClock.Elapsed)}; killing {host}");

            long killTimestamp = Stopwatch.GetTimestamp();
            killed = ProcessTree.KillTree(host.Pid);
            bool exited = client.WaitForExit(ExitWaitLimit);
            TimeSpan toExit = Stopwatch.GetElapsedTime(killTimestamp);
            output.WriteLine($"SIGKILL to {killed.Count} host processes ({string.Join(' ', killed)}); client " +
                             (exited ? $"exited {Outcome.Ms(toExit)} after the kill" : $"still running {ExitWaitLimit.TotalSeconds:0} s after the kill"));
            Assert.True(exited, $"the client did not end within {ExitWaitLimit.TotalSeconds:0} s of the host's death (hung):\n{Report()}");
            client.WaitForExit(); // drains the output
            string outText;
            lock (stdout) outText = stdout.ToString();
            output.WriteLine(RunResult.Tail(outText, 5));

            Match fail = FailLine.Match(outText);
            Assert.True(fail.Success, $"no 'fail <call> <VkResult> at <ns>' line (exit {client.ExitCode}):\n{Report()}");
            long failNs = long.Parse(fail.Groups[3].Value, CultureInfo.InvariantCulture);
            // Stopwatch is CLOCK_MONOTONIC in ns on Linux, the clock the client stamps its line with.
            double detectMs = Outcome.NanosecondsSince(killTimestamp, failNs) / 1e6;
            output.WriteLine($"MEASURED {kind}: {fail.Groups[1].Value} returned {fail.Groups[2].Value} ({fail.Groups[4].Value}) " +
                             $"{detectMs:0.0} ms after the kill (client's CLOCK_MONOTONIC); client exit {Outcome.Ms(toExit)} after the kill; " +
                             $"{fail.Groups[5].Value} iterations done");
            Assert.True(fail.Groups[2].Value == "-4",
                $"{fail.Groups[1].Value} failed with {fail.Groups[2].Value} ({fail.Groups[4].Value}), expected -4 (VK_ERROR_DEVICE_LOST):\n{Report()}");
            Assert.True(client.ExitCode == 3, $"the client exited {client.ExitCode}, expected 3 after its 'fail' line:\n{Report()}");
            Assert.True(detectMs >= 0, $"the client's call failed {-detectMs:0.0} ms BEFORE the host was killed:\n{Report()}");
            Assert.True(toExit <= Required + Slack,
                $"the client exited {Outcome.Ms(toExit)} after the kill; required {Required.TotalSeconds:0} s (+{Slack.TotalSeconds} s slack):\n{Report()}");
        }
        finally
        {
            if (!client.HasExited)
            {
                try { client.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                client.WaitForExit(5000);
            }
            if (killed.Count == 0)
                killed = ProcessTree.KillTree(host.Pid);
        }

        // No host process survives.
        var clock = Stopwatch.StartNew();
        while (ProcessTree.Alive(killed).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(5))
            Thread.Sleep(20);
        Assert.True(ProcessTree.Alive(killed).Count == 0, $"host processes survived SIGKILL: {string.Join(' ', ProcessTree.Alive(killed))}");
        Assert.True(ProcessTree.FindByCommandLine(host.ChrootSocketPath).Count == 0,
            $"processes serving {host.ChrootSocketPath} survived: {string.Join(' ', ProcessTree.FindByCommandLine(host.ChrootSocketPath))}");
    }
}
