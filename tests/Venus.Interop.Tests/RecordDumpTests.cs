using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Venus.Cli;
using Xunit.Abstractions;

namespace Venus.Interop.Tests;

/// <summary>
/// <c>venus-host serve --record DIR</c> with Mesa's venus guest: vulkaninfo and the compute client
/// run against a recording host; every recorded command must decode completely and re-encode to the
/// very same bytes (<see cref="VenusDump"/>, and <c>venus dump FILE --check</c> through the CLI).
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class RecordDumpTests(InteropFixture fx, ITestOutputHelper output)
{
    private const uint ComputeN = 1u << 20;
    private const int ClientTimeoutSeconds = 30;
    private const int MinCommands = 50;

    private static readonly Regex OkLine = new(@"^compute: N=(\d+) ok .*$", RegexOptions.Multiline);

    /// <summary>Calls a compute run must have recorded (vulkaninfo creates no memory, pipeline or submission).</summary>
    private static readonly string[] ComputeCalls =
        ["vkCreateInstance", "vkCreateDevice", "vkAllocateMemory", "vkCreateComputePipelines", "vkQueueSubmit", "vkCmdDispatch"];

    private static readonly string[] VulkaninfoCalls = ["vkCreateInstance", "vkCreateDevice", "vkEnumeratePhysicalDevices"];

    /// <summary>The `venus` CLI (apphost of src/Venus.Cli) copied next to the tests by the project reference.</summary>
    private static string CliPath => Path.Combine(AppContext.BaseDirectory, "venus");

    [Fact]
    public void RecordedStreamsOfMesaGuestsDecodeAndReencodeExactly()
    {
        string chrootDir = $"/tmp/rec-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        string hostDir = fx.PeersRoot + chrootDir;
        try
        {
            var clock = Stopwatch.StartNew();
            string log;
            RunningHost host = StartRecordingHost(chrootDir);
            bool stopped = false;
            try
            {
                output.WriteLine($"step start venus-host --record {chrootDir}: {clock.ElapsedMilliseconds} ms ({host})");

                GuestRun vulkaninfo = fx.RunGuest(host, "vulkaninfo", InteropFixture.VulkanInfoTimeout);
                output.WriteLine(VulkaninfoTests.Timing(HostKind.VenusHost, "vulkaninfo (recording)", vulkaninfo.Run));
                Assert.True(vulkaninfo.Run.Succeeded, $"vulkaninfo through Mesa's venus on a recording venus-host failed:\n{vulkaninfo}");

                string compute = $"{fx.Clients.Executable("compute")} {fx.Clients.Spirv("compute.comp")} {ComputeN} {ClientTimeoutSeconds}";
                GuestRun computeRun = fx.RunGuest(host, compute, TimeSpan.FromSeconds(ClientTimeoutSeconds + 30));
                output.WriteLine(VulkaninfoTests.Timing(HostKind.VenusHost, $"compute N={ComputeN} (recording)", computeRun.Run));
                output.WriteLine("  " + computeRun.Run.Stdout.Trim());
                Assert.True(computeRun.Run.Succeeded && OkLine.IsMatch(computeRun.Run.Stdout),
                    $"the compute client through Mesa's venus on a recording venus-host failed:\n{computeRun}");

                // Stop the host so every recording is complete and closed.
                clock.Restart();
                log = host.ReadLog();
                stopped = true;
                host.Dispose();
                output.WriteLine($"step stop venus-host: {clock.ElapsedMilliseconds} ms");
            }
            finally
            {
                if (!stopped)
                    host.Dispose();
            }
            output.WriteLine("host log:\n" + RunResult.Tail(log, 20));
            Assert.DoesNotContain(": fatal: ", log);

            string[] files = Directory.Exists(hostDir) ? Directory.GetFiles(hostDir, "*.venus").Order(StringComparer.Ordinal).ToArray() : [];
            output.WriteLine($"recordings in {hostDir}: {string.Join(", ", files.Select(f => $"{Path.GetFileName(f)} ({new FileInfo(f).Length} bytes)"))}");
            Assert.True(files.Length >= 2, $"expected a recording per guest (vulkaninfo, compute) in {hostDir}, found {files.Length}\n{log}");
            Assert.Contains(files, f => Path.GetFileName(f).Contains("vulkaninfo", StringComparison.Ordinal));
            Assert.Contains(files, f => Path.GetFileName(f).Contains("compute", StringComparison.Ordinal));

            foreach (string file in files)
            {
                clock.Restart();
                var text = new StringWriter();
                VenusDump.Summary summary = VenusDump.Dump(File.ReadAllBytes(file), text);
                string dump = text.ToString();
                output.WriteLine($"step VenusDump {Path.GetFileName(file)}: {clock.ElapsedMilliseconds} ms: {summary.Commands} commands, " +
                                 $"{summary.Undecodable} undecodable, {summary.Different} re-encode differently; " +
                                 $"streams: {string.Join(", ", Streams(dump).Select(s => $"{s.Key} {s.Value}"))}");
                string bad = string.Join('\n', dump.Split('\n').Where(l => l.Contains(" !! ", StringComparison.Ordinal)).Take(10));
                Assert.True(summary.Commands > MinCommands, $"{Path.GetFileName(file)}: only {summary.Commands} commands recorded");
                Assert.True(summary.Undecodable == 0, $"{Path.GetFileName(file)}: {summary.Undecodable} commands do not decode:\n{bad}");
                Assert.True(summary.Different == 0, $"{Path.GetFileName(file)}: {summary.Different} commands re-encode differently:\n{bad}");

                string[] expected = Path.GetFileName(file).Contains("compute", StringComparison.Ordinal) ? ComputeCalls
                    : Path.GetFileName(file).Contains("vulkaninfo", StringComparison.Ordinal) ? VulkaninfoCalls
                    : ["vkCreateInstance"];
                string[] missing = expected.Where(call => !dump.Contains($"] {call}(", StringComparison.Ordinal)).ToArray();
                Assert.True(missing.Length == 0, $"{Path.GetFileName(file)}: no {string.Join(", ", missing)} in the dump:\n{RunResult.Tail(dump, 30)}");

                clock.Restart();
                RunResult cli = ProcessRun.Run(CliPath, ["dump", file, "--check"], TimeSpan.FromSeconds(60));
                output.WriteLine($"step `venus dump {Path.GetFileName(file)} --check`: {cli.Wall.TotalMilliseconds:0} ms, {cli.Outcome}: {cli.Stderr.Trim()}");
                Assert.True(cli.Succeeded, $"venus dump --check failed:\n{cli}");
                Assert.Contains($"venus dump: {summary.Commands} commands, 0 undecodable, 0 re-encode differently", cli.Stderr);
                Assert.Equal(summary.Commands, cli.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                Assert.Equal(dump.ReplaceLineEndings("\n"), cli.Stdout.ReplaceLineEndings("\n"));

                // --json: the same commands as data, in the same order, with the same counts.
                RunResult jsonRun = ProcessRun.Run(CliPath, ["dump", file, "--json"], TimeSpan.FromSeconds(60));
                Assert.True(jsonRun.Succeeded, $"venus dump --json failed:\n{jsonRun}");
                using var doc = System.Text.Json.JsonDocument.Parse(jsonRun.Stdout);
                var commands = doc.RootElement.GetProperty("commands").EnumerateArray().ToList();
                Assert.Equal(summary.Commands, doc.RootElement.GetProperty("count").GetInt32());
                Assert.Equal(0, doc.RootElement.GetProperty("undecodable").GetInt32());
                string[] lines = dump.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(lines.Length, commands.Count);
                for (int i = 0; i < commands.Count; i++)
                {
                    var c = commands[i];
                    Assert.Equal(lines[i], $"[{c.GetProperty("stream").GetString()}] {c.GetProperty("text").GetString()}");
                    Assert.StartsWith(c.GetProperty("command").GetString() + "(", c.GetProperty("text").GetString());
                }
            }
        }
        finally
        {
            if (!RunningHost.KeepLogs)
            {
                try { Directory.Delete(hostDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }

    /// <summary>Commands per stream ("[virtqueue]", "[ring 0x...]") of a dump.</summary>
    private static SortedDictionary<string, int> Streams(string dump)
    {
        var streams = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (string line in dump.Split('\n'))
        {
            int close = line.IndexOf(']', StringComparison.Ordinal);
            if (line.StartsWith('[') && close > 0)
                streams[line[1..close]] = streams.GetValueOrDefault(line[1..close]) + 1;
        }
        return streams;
    }

    /// <summary>
    /// <c>bash eng/host.sh serve SOCKET --record DIR</c> (the launcher's script, DIR a chroot path):
    /// <see cref="HostLauncher.Start"/> passes no options, so the same contract is followed here.
    /// </summary>
    private RunningHost StartRecordingHost(string chrootRecordDir)
    {
        HostLauncher launcher = HostLauncher.VenusHost;
        string script = Path.Combine(fx.RepoRoot, launcher.Script);
        Assert.True(File.Exists(script), $"{launcher.Script} missing: venus-host cannot be started");
        string chrootSocket = $"/tmp/venus-interop-record-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock";
        string logPath = fx.PeersRoot + chrootSocket + ".log";
        RunResult serve = ProcessRun.Run("bash", [script, "serve", chrootSocket, "--record", chrootRecordDir],
            HostLauncher.StartTimeout, fx.RepoRoot);
        string lastLine = serve.Stdout.Trim().Split('\n')[^1].Trim();
        if (!serve.Succeeded || !int.TryParse(lastLine, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            string log = File.Exists(logPath) ? RunResult.Tail(File.ReadAllText(logPath), 40) : "(no server log)";
            foreach (int stray in ProcessTree.FindByCommandLine(chrootSocket))
                ProcessTree.Stop(stray, TimeSpan.FromSeconds(3));
            throw new HostUnavailableException($"`bash {launcher.Script} serve {chrootSocket} --record {chrootRecordDir}` did not start venus-host: {serve}\n--- server log ---\n{log}");
        }
        return new RunningHost(launcher, pid, chrootSocket, fx.PeersRoot + chrootSocket, logPath);
    }
}
