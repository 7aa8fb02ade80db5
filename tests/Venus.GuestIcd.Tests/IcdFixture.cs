using System.Diagnostics;
using Venus.Client;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Our guest ICD (src/Venus.GuestIcd) against virglrenderer 1.1.0 and venus-host, with native lavapipe
/// and Mesa 25.0.7's venus guest as the controls: <see cref="GuestDriverFixture"/> (install, hosts,
/// environments, runs) plus what only these tests need: native vulkaninfo and what each host reports
/// when asked directly (venus probe).
/// </summary>
public sealed class IcdFixture : GuestDriverFixture
{
    public const string SocketPrefix = "venus-icdtest";

    public static readonly TimeSpan VulkanInfoTimeout = TimeSpan.FromSeconds(120);

    private readonly Lazy<NativeReference> _native;
    private readonly Lock _probeGate = new();
    private readonly Dictionary<HostKind, (RunningHost Host, ProbeReport Report)> _probes = [];

    private readonly Lazy<string> _cli;
    private readonly Lazy<string> _sample;

    public IcdFixture() : base(SocketPrefix)
    {
        _native = new Lazy<NativeReference>(MeasureNative);
        _cli = new Lazy<string>(() => RunInstallScript("cli.sh"));
        _sample = new Lazy<string>(() => RunInstallScript("sample.sh"));
    }

    /// <summary>The NativeAOT <c>venus</c> command installed into the chroot (eng/cli.sh install), as a chroot path.</summary>
    public string Cli => _cli.Value;

    /// <summary>The command line (chroot paths) of the Silk.NET sample, installed by eng/sample.sh.</summary>
    public string Sample => _sample.Value;

    /// <summary><c>bash eng/SCRIPT install</c>; its last stdout line (a chroot path or command), whose first word must exist in the chroot.</summary>
    private string RunInstallScript(string script)
    {
        RunResult install = ProcessRun.Run("bash", [Path.Combine(RepoRoot, "eng", script), "install"], IcdInstall.InstallTimeout, RepoRoot);
        if (!install.Succeeded)
            throw new InvalidOperationException($"`bash eng/{script} install` failed: {install.Outcome}\n{RunResult.Tail(install.Stderr, 40)}");
        string line = install.Stdout.Trim().Split('\n')[^1].Trim();
        if (!File.Exists(PeersRoot + line.Split(' ')[0]))
            throw new InvalidOperationException($"eng/{script} install printed '{line}', which does not name a file in the chroot");
        return line;
    }

    /// <summary>
    /// Runs <paramref name="command"/> natively and through our ICD on venus-host under Khronos'
    /// validation layer: both must print <paramref name="okLine"/>, load the layer, and draw no
    /// "Validation Error".
    /// </summary>
    public void AssertValidationLayerIsSilent(string command, TimeSpan timeout, string okLine, Xunit.Abstractions.ITestOutputHelper output)
    {
        var layer = new Dictionary<string, string>
        {
            ["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation", ["VK_LOADER_LAYERS_ENABLE"] = "*validation", ["VK_LOADER_DEBUG"] = "layer",
        };
        RunResult native = RunNative(command, timeout, layer);
        DriverRun ours = RunThroughIcd(SharedHost(HostKind.VenusHost), command, timeout, layer);
        output.WriteLine("native:\n" + native + "\nours:\n" + ours);
        foreach ((string who, RunResult run) in new[] { ("native", native), ("our ICD", ours.Run) })
        {
            Xunit.Assert.True(run.Succeeded && run.Stdout.Contains(okLine), $"'{command}' under the validation layer failed ({who}):\n{run}");
            Xunit.Assert.Contains("Insert instance layer \"VK_LAYER_KHRONOS_validation\"", run.Stdout + run.Stderr);
            Xunit.Assert.DoesNotContain("Validation Error", run.Stdout + run.Stderr);
        }
    }

    /// <summary>vulkaninfo natively on the chroot's lavapipe: the driver behind both hosts.</summary>
    public NativeReference Native => _native.Value;

    /// <summary>What the shared host of <paramref name="kind"/> reports, asked directly over vtest (venus probe); asked again after a restart.</summary>
    public ProbeReport Probe(HostKind kind)
    {
        lock (_probeGate)
        {
            RunningHost host = SharedHost(kind);
            if (_probes.TryGetValue(kind, out var probed) && ReferenceEquals(probed.Host, host))
                return probed.Report;
            ProbeReport report;
            using (VtestVenusSession session = VtestVenusSession.Open(host.SocketPath, SocketPrefix + "-probe"))
                report = VenusProbe.Run(session);
            _probes[kind] = (host, report);
            return report;
        }
    }

    private NativeReference MeasureNative()
    {
        RunResult summary = RunNative("vulkaninfo --summary", VulkanInfoTimeout);
        if (!summary.Succeeded)
            throw new InvalidOperationException($"native vulkaninfo --summary on lavapipe failed (the control):\n{summary}");
        RunResult full = RunNative("vulkaninfo", VulkanInfoTimeout);
        if (!full.Succeeded)
            throw new InvalidOperationException($"native vulkaninfo on lavapipe failed (the control):\n{full}");
        VulkanInfoSummary s = VulkanInfoSummary.Parse(summary.Stdout);
        VulkanInfoFull f = VulkanInfoFull.Parse(full.Stdout);
        if (s.Devices.Count != 1 || f.Devices.Count != 1)
            throw new InvalidOperationException(
                $"native vulkaninfo on lavapipe shows {s.Devices.Count} (summary) / {f.Devices.Count} (full) devices, expected 1:\n{summary}");
        if (f.Devices[0].Extensions.Count != f.Devices[0].DeclaredExtensionCount || f.Devices[0].Extensions.Count == 0)
            throw new InvalidOperationException(
                $"could not parse native vulkaninfo's device extensions ({f.Devices[0].Extensions.Count} parsed, " +
                $"{f.Devices[0].DeclaredExtensionCount} declared)");
        return new NativeReference(s.Devices[0], f.Devices[0]);
    }
}

/// <summary>Native lavapipe's vulkaninfo: its one device, from --summary and from the full text.</summary>
public sealed record NativeReference(SummaryDevice Summary, VulkanInfoFull.Device Full);

[CollectionDefinition(Name)]
public sealed class IcdCollection : ICollectionFixture<IcdFixture>
{
    public const string Name = "Venus guest ICD (ours vs hosts)";
}

/// <summary>Small helpers shared by the test classes.</summary>
public static class Outcome
{
    public static VkVersion Version(uint v) => new((int)(v >> 22) & 0x7F, (int)(v >> 12) & 0x3FF, (int)(v & 0xFFF));

    public static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:0.0} ms";

    public static double NanosecondsSince(long stopwatchTimestamp, long laterNanoseconds) =>
        laterNanoseconds - stopwatchTimestamp * (1e9 / Stopwatch.Frequency);
}
