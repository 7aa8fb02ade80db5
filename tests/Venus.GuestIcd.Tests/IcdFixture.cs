using System.Diagnostics;
using System.Text.Json;
using Venus.Cli;

namespace Venus.GuestIcd.Tests;

/// <summary>
/// Our guest ICD (<c>libvenus_icd.so</c>, src/Venus.GuestIcd) as an application in the peers chroot
/// loads it: installed once per test run with <c>bash eng/icd.sh install</c>, whose last stdout line
/// is the manifest path inside the chroot, and selected with <c>VK_DRIVER_FILES</c> in a clean
/// environment (<c>env -i</c>), the way Mesa's venus is run (VN_DEBUG=vtest, VTEST_SOCKET_NAME).
/// Hosts are virglrenderer 1.1.0 and venus-host (<see cref="HostLauncher"/>); the controls are native
/// lavapipe and Mesa 25.0.7's venus guest. Nothing is skipped: a missing prerequisite (chroot, ICD
/// build, host, client build) fails every test that needs it, with the reason.
/// </summary>
public sealed class IcdFixture : IDisposable
{
    public const string LavapipeIcd = "/usr/share/vulkan/icd.d/lvp_icd.json";
    public const string MesaVenusIcd = "/usr/share/vulkan/icd.d/virtio_icd.json";
    public const string SocketPrefix = "venus-icdtest";

    /// <summary>eng/icd.sh install: a NativeAOT publish, 1–3 minutes, more on a loaded machine.</summary>
    public static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(15);

    public static readonly TimeSpan VulkanInfoTimeout = TimeSpan.FromSeconds(120);

    private readonly Lazy<string> _peersRoot;
    private readonly Lazy<IcdInstall> _icd;
    private readonly Lazy<ClientBuild> _clients;
    private readonly Lazy<NativeReference> _native;
    private readonly Lock _gate = new();
    private readonly Dictionary<HostKind, RunningHost> _sharedHosts = [];
    private readonly Dictionary<HostKind, ProbeReport> _probes = [];

    public IcdFixture()
    {
        RepoRoot = PeersEnvironment.FindRepoRoot();
        _peersRoot = new Lazy<string>(() => PeersEnvironment.EnsureChroot(RepoRoot));
        _icd = new Lazy<IcdInstall>(() => IcdInstall.Install(RepoRoot, PeersRoot));
        _clients = new Lazy<ClientBuild>(() => ClientBuild.Build(RepoRoot, PeersRoot, SocketPrefix + "-clients"));
        _native = new Lazy<NativeReference>(MeasureNative);
    }

    /// <summary>The folder holding Venus.sln.</summary>
    public string RepoRoot { get; }

    /// <summary>The trixie chroot (eng/peers.sh ensure).</summary>
    public string PeersRoot => _peersRoot.Value;

    /// <summary>Our ICD, installed into the chroot once per run (the exception of a failed install is kept and rethrown).</summary>
    public IcdInstall Icd => _icd.Value;

    /// <summary>tests/clients compiled inside the chroot, once.</summary>
    public ClientBuild Clients => _clients.Value;

    /// <summary>vulkaninfo natively on the chroot's lavapipe: the driver behind both hosts.</summary>
    public NativeReference Native => _native.Value;

    /// <summary>VENUS_DEBUG for runs through our ICD: init,result unless VENUS_ICDTEST_VENUS_DEBUG says otherwise.</summary>
    public static string VenusDebug =>
        Environment.GetEnvironmentVariable("VENUS_ICDTEST_VENUS_DEBUG") is { } v ? v : "init,result";

    /// <summary>What every program in the chroot gets (after env -i).</summary>
    public static Dictionary<string, string> BaseEnvironment() => new()
    {
        ["PATH"] = "/usr/bin:/bin",
        ["HOME"] = "/tmp",
        ["XDG_RUNTIME_DIR"] = "/tmp",
        ["NODEVICE_SELECT"] = "1",
    };

    /// <summary>The environment that makes a Vulkan program use our ICD over vtest at <paramref name="chrootSocket"/>.</summary>
    public Dictionary<string, string> IcdEnvironment(string chrootSocket)
    {
        Dictionary<string, string> env = BaseEnvironment();
        env["VK_DRIVER_FILES"] = Icd.ManifestPath;
        env["VN_DEBUG"] = "vtest";
        env["VTEST_SOCKET_NAME"] = chrootSocket;
        env["VENUS_DEBUG"] = VenusDebug;
        return env;
    }

    /// <summary>The same for Mesa's venus guest (the control).</summary>
    public static Dictionary<string, string> MesaEnvironment(string chrootSocket)
    {
        Dictionary<string, string> env = BaseEnvironment();
        env["VK_DRIVER_FILES"] = MesaVenusIcd;
        env["VN_DEBUG"] = "vtest";
        env["VTEST_SOCKET_NAME"] = chrootSocket;
        return env;
    }

    public static Dictionary<string, string> NativeEnvironment()
    {
        Dictionary<string, string> env = BaseEnvironment();
        env["VK_DRIVER_FILES"] = LavapipeIcd;
        return env;
    }

    /// <summary>A fresh host on its own socket; the caller disposes it.</summary>
    public RunningHost StartHost(HostKind kind, params string[] options) =>
        HostLauncher.For(kind).Start(RepoRoot, PeersRoot, options, SocketPrefix);

    /// <summary>One host of each kind for the whole run (restarted if it died); the fixture stops it.</summary>
    public RunningHost SharedHost(HostKind kind)
    {
        lock (_gate)
        {
            if (_sharedHosts.TryGetValue(kind, out RunningHost? host))
            {
                if (host.IsAlive)
                    return host;
                host.Dispose();
                _sharedHosts.Remove(kind);
                _probes.Remove(kind);
            }
            host = StartHost(kind);
            _sharedHosts[kind] = host;
            return host;
        }
    }

    /// <summary>What the shared host of <paramref name="kind"/> reports, asked directly over vtest (venus probe).</summary>
    public ProbeReport Probe(HostKind kind)
    {
        lock (_gate)
        {
            RunningHost host = SharedHost(kind);
            if (_probes.TryGetValue(kind, out ProbeReport? report))
                return report;
            using (VtestVenusSession session = VtestVenusSession.Open(host.SocketPath, SocketPrefix + "-probe"))
                report = VenusProbe.Run(session);
            _probes[kind] = report;
            return report;
        }
    }

    /// <summary>Runs <paramref name="command"/> (sh -c, in the chroot) through our ICD against <paramref name="host"/>.</summary>
    public DriverRun RunThroughIcd(RunningHost host, string command, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        RunResult run = RunInChroot(command, With(IcdEnvironment(host.ChrootSocketPath), extraEnvironment), timeout);
        Thread.Sleep(50); // lets the host log what the disconnect did
        return new DriverRun("our ICD (" + Icd.ManifestPath + ")", host, run, host.IsAlive, host.LogTail(40));
    }

    /// <summary>The control: the same through Mesa 25.0.7's venus guest.</summary>
    public DriverRun RunThroughMesa(RunningHost host, string command, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        RunResult run = RunInChroot(command, With(MesaEnvironment(host.ChrootSocketPath), extraEnvironment), timeout);
        Thread.Sleep(50);
        return new DriverRun("Mesa 25.0.7 venus", host, run, host.IsAlive, host.LogTail(40));
    }

    /// <summary>The control: natively on the chroot's lavapipe.</summary>
    public RunResult RunNative(string command, TimeSpan timeout, IReadOnlyDictionary<string, string>? extraEnvironment = null) =>
        RunInChroot(command, With(NativeEnvironment(), extraEnvironment), timeout);

    /// <summary><c>chroot PEERS env -i K=V... sh -c COMMAND</c>, with a hard timeout (the tree is killed).</summary>
    public RunResult RunInChroot(string command, IReadOnlyDictionary<string, string> environment, TimeSpan timeout) =>
        ProcessRun.Run("chroot", ChrootArguments(environment, ["sh", "-c", command]), timeout);

    /// <summary>The arguments of <c>chroot</c> that run <paramref name="argv"/> in the chroot with only <paramref name="environment"/>.</summary>
    public List<string> ChrootArguments(IReadOnlyDictionary<string, string> environment, IEnumerable<string> argv)
    {
        var arguments = new List<string> { PeersRoot, "env", "-i" };
        foreach ((string key, string value) in environment)
            arguments.Add($"{key}={value}");
        arguments.AddRange(argv);
        return arguments;
    }

    private static Dictionary<string, string> With(Dictionary<string, string> env, IReadOnlyDictionary<string, string>? extra)
    {
        if (extra is not null)
            foreach ((string k, string v) in extra)
                env[k] = v;
        return env;
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

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (RunningHost host in _sharedHosts.Values)
                host.Dispose();
            _sharedHosts.Clear();
        }
        if (_clients.IsValueCreated)
            _clients.Value.Dispose();
    }
}

/// <summary>Native lavapipe's vulkaninfo: its one device, from --summary and from the full text.</summary>
public sealed record NativeReference(SummaryDevice Summary, VulkanInfoFull.Device Full);

/// <summary>Our ICD as installed in the chroot.</summary>
public sealed record IcdInstall(string ManifestPath, string LibraryPath, string InstallOutput)
{
    /// <summary>
    /// <c>bash eng/icd.sh install</c>, or the manifest named by VENUS_ICDTEST_MANIFEST (a chroot path; no
    /// install then). Throws with the script's stderr when it fails.
    /// </summary>
    public static IcdInstall Install(string repoRoot, string peersRoot)
    {
        string manifest;
        string log;
        string source;
        if (Environment.GetEnvironmentVariable("VENUS_ICDTEST_MANIFEST") is { Length: > 0 } given)
        {
            manifest = given;
            source = "VENUS_ICDTEST_MANIFEST";
            log = $"VENUS_ICDTEST_MANIFEST={given}: eng/icd.sh install not run";
        }
        else
        {
            string script = Path.Combine(repoRoot, "eng", "icd.sh");
            if (!File.Exists(script))
                throw new InvalidOperationException($"{script} missing: our ICD cannot be built and installed");
            RunResult install = ProcessRun.Run("bash", [script, "install"], IcdFixture.InstallTimeout, repoRoot);
            if (!install.Succeeded)
                throw new InvalidOperationException(
                    $"`bash eng/icd.sh install` failed, so our ICD cannot be tested: {install.Outcome}\n" +
                    $"--- stderr ---\n{RunResult.Tail(install.Stderr, 60)}\n--- stdout ---\n{RunResult.Tail(install.Stdout, 20)}");
            manifest = install.Stdout.Trim().Split('\n')[^1].Trim();
            source = "eng/icd.sh install printed it as its last line";
            log = $"eng/icd.sh install ({install.Wall.TotalSeconds:0} s): {manifest}";
        }

        string hostManifest = peersRoot + manifest;
        if (!manifest.StartsWith('/') || !File.Exists(hostManifest))
            throw new InvalidOperationException(
                $"'{manifest}' ({source}) is not a manifest in the chroot ({hostManifest} missing)");
        string libraryPath;
        try
        {
            using JsonDocument json = JsonDocument.Parse(File.ReadAllText(hostManifest));
            libraryPath = json.RootElement.GetProperty("ICD").GetProperty("library_path").GetString() ?? "";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{hostManifest} is not an ICD manifest with ICD.library_path: {e.Message}");
        }
        // The loader's rules: absolute as is; with a '/' relative to the manifest's folder; else a
        // bare name for dlopen's search.
        if (libraryPath.Contains('/') && !libraryPath.StartsWith('/'))
            libraryPath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(manifest)!, libraryPath));
        if (libraryPath.StartsWith('/') && !File.Exists(peersRoot + libraryPath))
            throw new InvalidOperationException($"{manifest} names {libraryPath}, which is not in the chroot");
        return new IcdInstall(manifest, libraryPath, log);
    }
}

/// <summary>One program run through a guest driver against one host, with what the host logged meanwhile.</summary>
public sealed record DriverRun(string Driver, RunningHost Host, RunResult Run, bool HostAliveAfter, string HostLogTail)
{
    public override string ToString() =>
        $"through {Driver} against {Host}:\n{Run}\n" +
        $"--- host {(HostAliveAfter ? "still running" : "NOT running any more")}; host log (last lines) ---\n{HostLogTail}\n" +
        "(VENUS_ICDTEST_VENUS_DEBUG sets VENUS_DEBUG for our ICD, default init,result; VENUS_INTEROP_KEEP_LOGS=1 keeps the host logs)";
}

[CollectionDefinition(Name)]
public sealed class IcdCollection : ICollectionFixture<IcdFixture>
{
    public const string Name = "Venus guest ICD (ours vs hosts)";
}

/// <summary>Small helpers shared by the test classes.</summary>
public static class Outcome
{
    /// <summary>A process killed by a signal shows as 128 + signal (sh, or .NET for a direct child).</summary>
    public static string? Signal(RunResult run) => run.TimedOut || run.ExitCode <= 128 || run.ExitCode > 128 + 64
        ? null
        : (run.ExitCode - 128) switch
        {
            4 => "SIGILL",
            6 => "SIGABRT",
            7 => "SIGBUS",
            8 => "SIGFPE",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            15 => "SIGTERM",
            int n => "signal " + n,
        };

    public static VkVersion Version(uint v) => new((int)(v >> 22) & 0x7F, (int)(v >> 12) & 0x3FF, (int)(v & 0xFFF));

    public static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:0.0} ms";

    public static double NanosecondsSince(long stopwatchTimestamp, long laterNanoseconds) =>
        laterNanoseconds - stopwatchTimestamp * (1e9 / Stopwatch.Frequency);
}
