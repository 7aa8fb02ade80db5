using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Venus.Vm.Tests;

/// <summary>One step the guest ran (tests/vm/init, framed by tests/vm/vmrun.c): its exit status, wall time and output.</summary>
public sealed record VmStep(string Name, int ExitCode, double WallMs, string Output)
{
    public override string ToString() => $"{Name}: exit {ExitCode}, {WallMs:0.0} ms\n{RunResult.Tail(Output, 40)}";
}

/// <summary>
/// One boot of the test VM (a scenario of <c>eng/vm.sh run</c>): the serial log cut into the steps
/// the guest ran.
/// </summary>
public sealed partial class VmBoot
{
    /// <summary>Building the ICD and the initramfs once, then the boots under TCG (about 1.5 minutes here).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(20);

    private VmBoot(string scenario, IReadOnlyDictionary<string, VmStep> steps)
    {
        Scenario = scenario;
        Steps = steps;
    }

    public string Scenario { get; }
    public IReadOnlyDictionary<string, VmStep> Steps { get; }

    public VmStep Step(string name) =>
        Steps.TryGetValue(name, out VmStep? step)
            ? step
            : throw new InvalidOperationException($"the {Scenario} boot has no step '{name}'; it ran: {string.Join(", ", Steps.Keys)}");

    /// <summary>
    /// <c>eng/vm.sh run</c> for all <paramref name="scenarios"/> at once (one build of the ICD and
    /// initramfs, then one boot each). A scenario whose boot did not run every step is absent from
    /// the result; <paramref name="run"/> holds eng/vm.sh's explanation.
    /// </summary>
    public static IReadOnlyDictionary<string, VmBoot> RunAll(string[] scenarios, out RunResult run)
    {
        string root = PeersEnvironment.FindRepoRoot();
        run = ProcessRun.Run("bash", [Path.Combine(root, "eng", "vm.sh"), "run", .. scenarios], Timeout, root);
        var boots = new Dictionary<string, VmBoot>(StringComparer.Ordinal);
        if (run.TimedOut)
            return boots;
        foreach (string line in run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string scenario = Path.GetFileNameWithoutExtension(line);
            if (!scenarios.Contains(scenario) || !File.Exists(line))
                continue;
            boots[scenario] = new VmBoot(scenario, Parse(File.ReadAllText(line).Replace("\r", "")));
        }
        return boots;
    }

    /// <summary>The steps of a serial log: "@@venus-vm begin NAME" ... "@@venus-vm end NAME rc=RC ms=MS".</summary>
    public static IReadOnlyDictionary<string, VmStep> Parse(string log)
    {
        var steps = new Dictionary<string, VmStep>(StringComparer.Ordinal);
        string? current = null;
        var output = new StringBuilder();
        foreach (string line in log.Split('\n'))
        {
            Match begin = BeginRegex().Match(line);
            if (begin.Success)
            {
                current = begin.Groups[1].Value;
                output.Clear();
                continue;
            }
            Match end = EndRegex().Match(line);
            if (end.Success)
            {
                string name = end.Groups[1].Value;
                if (name == current)
                {
                    steps[name] = new VmStep(name, int.Parse(end.Groups[2].Value, CultureInfo.InvariantCulture),
                        double.Parse(end.Groups[3].Value, CultureInfo.InvariantCulture), output.ToString());
                }
                current = null;
                continue;
            }
            if (current is not null)
                output.Append(line).Append('\n');
        }
        return steps;
    }

    /// <summary>
    /// Why <paramref name="scenario"/>'s boot did not run every step, short enough to survive a
    /// summary that keeps only a failure's first lines: what eng/vm.sh said of this boot (not its
    /// serial tail), the steps the guest finished and the one it was in, the serial log's last lines,
    /// and for our render server (rs*) the host log's fatal or unhandled lines.
    /// </summary>
    public static string Explain(string scenario, RunResult run, string? artifacts = null)
    {
        artifacts ??= Path.Combine(PeersEnvironment.FindRepoRoot(), "artifacts", "vm");
        var text = new StringBuilder();
        if (run.TimedOut)
            text.Append($"eng/vm.sh was killed after {run.Timeout.TotalSeconds:0} s (all boots together); ");
        // eng/vm.sh's own lines for this boot (each attempt), without the serial tail it quotes.
        bool mine = false;
        var said = new List<string>();
        foreach (string line in run.Stderr.Split('\n'))
        {
            if (line.StartsWith("vm.sh: booting (", StringComparison.Ordinal))
                mine = line.StartsWith($"vm.sh: booting ({scenario}:", StringComparison.Ordinal);
            if (mine && !line.StartsWith("    ", StringComparison.Ordinal) && line.Length > 0)
                said.Add(line);
        }
        text.Append(said.Count == 0 ? "eng/vm.sh never booted it" : "eng/vm.sh said: " + string.Join(" | ", said));
        string log = Path.Combine(artifacts, scenario + ".log");
        if (File.Exists(log))
        {
            string serial = File.ReadAllText(log).Replace("\r", "");
            IReadOnlyDictionary<string, VmStep> steps = Parse(serial);
            text.Append($"\nsteps finished ({steps.Count}): ")
                .Append(string.Join(", ", steps.Values.Select(s => $"{s.Name} rc={s.ExitCode}")));
            string? open = null;
            foreach (string line in serial.Split('\n'))
            {
                Match begin = BeginRegex().Match(line);
                if (begin.Success)
                    open = begin.Groups[1].Value;
                else if (EndRegex().IsMatch(line))
                    open = null;
            }
            if (open is not null)
                text.Append($"\nthe guest was in step '{open}' when the log ended");
            text.Append($"\nlast lines of {log}:\n").Append(RunResult.Tail(serial, 12));
        }
        else
        {
            text.Append($"\nno serial log at {log}");
        }
        string hostLog = Path.Combine(artifacts, scenario + ".host.log");
        if (scenario.StartsWith("rs", StringComparison.Ordinal) && File.Exists(hostLog))
        {
            string[] bad = File.ReadAllLines(hostLog)
                .Where(l => l.Contains("fatal", StringComparison.OrdinalIgnoreCase) || l.Contains("Unhandled", StringComparison.Ordinal)
                    || l.Contains("exited", StringComparison.Ordinal) || l.Contains("signal", StringComparison.Ordinal))
                .ToArray();
            text.Append($"\nour render server's log ({hostLog}): {bad.Length} fatal/unhandled/exit lines")
                .Append(bad.Length == 0 ? "" : ":\n" + string.Join('\n', bad.TakeLast(8)));
        }
        return text.ToString();
    }

    [GeneratedRegex(@"^@@venus-vm begin (\S+)$")]
    private static partial Regex BeginRegex();

    [GeneratedRegex(@"^@@venus-vm end (\S+) rc=(-?\d+) ms=([0-9.]+)$")]
    private static partial Regex EndRegex();
}

public static class VmAssert
{
    /// <summary>The step, after checking that it exited 0; its exit status and wall time go to the test output.</summary>
    public static VmStep Passed(VmBoot boot, string name, Xunit.Abstractions.ITestOutputHelper output)
    {
        VmStep step = boot.Step(name);
        output.WriteLine($"{name}: exit {step.ExitCode}, {step.WallMs:0.0} ms");
        Assert.True(step.ExitCode == 0, $"step {step}");
        return step;
    }

    /// <summary>
    /// vulkaninfo failed without a signal, the loader saw VK_ERROR_INCOMPATIBLE_DRIVER, and our
    /// driver said why in exactly one "venus:" line starting with <paramref name="why"/>.
    /// </summary>
    public static void CleanRefusal(VmStep step, string why)
    {
        Assert.True(step.ExitCode is > 0 and < 128, $"vulkaninfo should fail cleanly: {step}");
        Assert.Contains("ERROR_INCOMPATIBLE_DRIVER", step.Output);
        string line = Assert.Single(step.Output.Split('\n'), l => l.StartsWith("venus:", StringComparison.Ordinal));
        Assert.StartsWith(why, line);
    }

    /// <summary>
    /// venus doctor exited 1 with an info line on the node (<paramref name="nodeLine"/>, a regex), a
    /// FAIL line saying none of <paramref name="nodes"/> carries Venus, and the negative verdict.
    /// </summary>
    public static void DoctorFailsOnNodes(VmStep step, string nodeLine, string nodes)
    {
        Assert.True(step.ExitCode == 1, $"venus doctor should exit 1: {step}");
        Assert.Matches("info  transport   " + nodeLine, step.Output);
        Assert.Contains($"FAIL  transport   none of the render nodes ({nodes}) carries Venus", step.Output);
        Assert.Contains("verdict: an application here does NOT get our Venus device", step.Output);
    }
}

/// <summary>The boots (venus, timing, novenus, and rsvenus, rstiming on our render server), run once for all tests of the collection.</summary>
public sealed class VmBootsFixture
{
    private static readonly string[] Scenarios = ["venus", "timing", "novenus", "rsvenus", "rstiming"];
    private readonly Lazy<(IReadOnlyDictionary<string, VmBoot> Boots, RunResult Run)> _runs = new(() =>
    {
        IReadOnlyDictionary<string, VmBoot> boots = VmBoot.RunAll(Scenarios, out RunResult run);
        return (boots, run);
    });

    /// <summary>The boot of <paramref name="scenario"/>; throws with eng/vm.sh's explanation when it did not run every step.</summary>
    public VmBoot Boot(string scenario) =>
        _runs.Value.Boots.TryGetValue(scenario, out VmBoot? boot)
            ? boot
            : throw new InvalidOperationException(
                $"eng/vm.sh run: the {scenario} boot did not run every step. {VmBoot.Explain(scenario, _runs.Value.Run)}\n--- the whole run ---\n{_runs.Value.Run}");

    /// <summary>What our render server logged during <paramref name="scenario"/> (artifacts/vm/SCENARIO.host.log).</summary>
    public string HostLog(string scenario)
    {
        Boot(scenario);
        string path = Path.Combine(PeersEnvironment.FindRepoRoot(), "artifacts", "vm", scenario + ".host.log");
        Assert.True(File.Exists(path), $"{path} is missing: our render server logged nothing");
        return File.ReadAllText(path);
    }
}

[CollectionDefinition("vm", DisableParallelization = true)]
public sealed class VmCollection : ICollectionFixture<VmBootsFixture>;
