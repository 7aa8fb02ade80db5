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
/// One boot of the test VM (<c>eng/vm.sh run SCENARIO</c>): the serial log cut into the steps the
/// guest ran. A boot that did not run every step throws with eng/vm.sh's explanation.
/// </summary>
public sealed partial class VmBoot
{
    /// <summary>Building the ICD and the initramfs, then one boot under TCG (about a minute here).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(20);

    private VmBoot(string scenario, string log, IReadOnlyDictionary<string, VmStep> steps, TimeSpan took)
    {
        Scenario = scenario;
        Log = log;
        Steps = steps;
        Took = took;
    }

    public string Scenario { get; }
    public string Log { get; }
    public IReadOnlyDictionary<string, VmStep> Steps { get; }
    public TimeSpan Took { get; }

    public VmStep Step(string name) =>
        Steps.TryGetValue(name, out VmStep? step)
            ? step
            : throw new InvalidOperationException($"the {Scenario} boot has no step '{name}'; it ran: {string.Join(", ", Steps.Keys)}");

    public static VmBoot Run(string scenario)
    {
        string root = PeersEnvironment.FindRepoRoot();
        var started = DateTime.UtcNow;
        RunResult run = ProcessRun.Run("bash", [Path.Combine(root, "eng", "vm.sh"), "run", scenario], Timeout, root);
        if (!run.Succeeded)
            throw new InvalidOperationException($"eng/vm.sh run {scenario} failed: {run}");
        string logPath = run.Stdout.Trim().Split('\n')[^1].Trim();
        if (!File.Exists(logPath))
            throw new InvalidOperationException($"eng/vm.sh run {scenario} printed '{logPath}', which is not a file: {run}");
        string log = File.ReadAllText(logPath).Replace("\r", "");
        return new VmBoot(scenario, log, Parse(log), DateTime.UtcNow - started);
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

    [GeneratedRegex(@"^@@venus-vm begin (\S+)$")]
    private static partial Regex BeginRegex();

    [GeneratedRegex(@"^@@venus-vm end (\S+) rc=(-?\d+) ms=([0-9.]+)$")]
    private static partial Regex EndRegex();
}

public static class VmAssert
{
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
}

/// <summary>The venus boot, once for all tests of the collection.</summary>
public sealed class VenusBootFixture
{
    private readonly Lazy<VmBoot> _boot = new(() => VmBoot.Run("venus"));
    public VmBoot Boot => _boot.Value;
}

/// <summary>The timing boot, once for all tests of the collection.</summary>
public sealed class TimingBootFixture
{
    private readonly Lazy<VmBoot> _boot = new(() => VmBoot.Run("timing"));
    public VmBoot Boot => _boot.Value;
}

/// <summary>The virgl-only boot (no venus capset), once for all tests of the collection.</summary>
public sealed class NoVenusBootFixture
{
    private readonly Lazy<VmBoot> _boot = new(() => VmBoot.Run("novenus"));
    public VmBoot Boot => _boot.Value;
}

[CollectionDefinition("vm", DisableParallelization = true)]
public sealed class VmCollection : ICollectionFixture<VenusBootFixture>, ICollectionFixture<TimingBootFixture>, ICollectionFixture<NoVenusBootFixture>;
