using System.Diagnostics;
using System.Text;

namespace Venus.Interop.Tests;

/// <summary>
/// Mesa 25.0.7's venus guest (the trixie chroot of eng/peers.sh, ../shared/docs/peers.md) against a
/// pluggable vtest host (<see cref="HostKind"/>). Builds the test clients of tests/clients once inside
/// the chroot, starts hosts on unique sockets, and runs guest programs with a hard timeout, so that a
/// hung guest becomes a failure carrying the last lines of the host log. Nothing is skipped: anything
/// missing fails the tests that need it, with the reason.
/// </summary>
public sealed class InteropFixture : IDisposable
{
    public const string VenusIcd = "/usr/share/vulkan/icd.d/virtio_icd.json";
    public const string LavapipeIcd = "/usr/share/vulkan/icd.d/lvp_icd.json";

    private readonly Lazy<string> _peersRoot;
    private readonly Lazy<ClientBuild> _clients;
    private readonly Lazy<VulkanInfoReference> _virglReference;

    public InteropFixture()
    {
        RepoRoot = PeersEnvironment.FindRepoRoot();
        _peersRoot = new Lazy<string>(() => PeersEnvironment.EnsureChroot(RepoRoot));
        _clients = new Lazy<ClientBuild>(() => ClientBuild.Build(RepoRoot, PeersRoot));
        _virglReference = new Lazy<VulkanInfoReference>(MeasureVirglReference);
    }

    /// <summary>The folder holding Venus.sln.</summary>
    public string RepoRoot { get; }

    /// <summary>The trixie chroot (default /var/cache/venus-peers); built on first use.</summary>
    public string PeersRoot => _peersRoot.Value;

    /// <summary>tests/clients compiled inside the chroot (built on first use, once).</summary>
    public ClientBuild Clients => _clients.Value;

    /// <summary>vulkaninfo through Mesa's venus on virglrenderer 1.1.0, measured once: the reference.</summary>
    public VulkanInfoReference VirglReference => _virglReference.Value;

    /// <summary>VN_DEBUG for guest runs: "vtest" plus VENUS_INTEROP_VN_DEBUG (e.g. "init,result,log_ctx_info").</summary>
    public static string VnDebug =>
        Environment.GetEnvironmentVariable("VENUS_INTEROP_VN_DEBUG") is { Length: > 0 } extra ? "vtest," + extra : "vtest";

    /// <summary>Starts a fresh host of the given kind on a unique socket (throws <see cref="HostUnavailableException"/>).</summary>
    public RunningHost StartHost(HostKind kind) => HostLauncher.For(kind).Start(RepoRoot, PeersRoot);

    /// <summary>The environment that makes a Vulkan program in the chroot use Mesa's venus over vtest.</summary>
    public static Dictionary<string, string> GuestEnvironment(RunningHost host) => new()
    {
        ["VK_DRIVER_FILES"] = VenusIcd,
        ["VN_DEBUG"] = VnDebug,
        ["VTEST_SOCKET_NAME"] = host.ChrootSocketPath,
        ["XDG_RUNTIME_DIR"] = "/tmp",
        ["NODEVICE_SELECT"] = "1",
    };

    /// <summary>Runs <paramref name="command"/> (sh -c, inside the chroot) through Mesa's venus against <paramref name="host"/>.</summary>
    public GuestRun RunGuest(RunningHost host, string command, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        Dictionary<string, string> env = GuestEnvironment(host);
        if (extraEnvironment is not null)
            foreach ((string k, string v) in extraEnvironment)
                env[k] = v;
        RunResult run = RunInChroot(command, env, timeout);
        // Give the host a moment to log what the guest's disconnect did.
        Thread.Sleep(50);
        return new GuestRun(host.Launcher, run, host.IsAlive, host.LogTail(40));
    }

    /// <summary>The compute client's command line: <paramref name="n"/> elements, checked on the host, 60 s limit.</summary>
    public string Compute(uint n) => $"{Clients.Executable("compute")} {Clients.Spirv("compute.comp")} {n} 60";

    /// <summary>Mesa's guest running compute, started without a shell so that the pid is compute's own (for kill -9).</summary>
    public Process StartGuestProcess(RunningHost host, uint n)
    {
        var startInfo = new ProcessStartInfo("chroot") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        startInfo.ArgumentList.Add(PeersRoot);
        startInfo.ArgumentList.Add("env");
        foreach ((string k, string v) in GuestEnvironment(host))
            startInfo.ArgumentList.Add($"{k}={v}");
        foreach (string a in Compute(n).Split(' '))
            startInfo.ArgumentList.Add(a);
        var p = Process.Start(startInfo)!;
        p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEndAsync();
        return p;
    }

    /// <summary>Runs <paramref name="command"/> natively on the chroot's lavapipe (no venus): the baseline.</summary>
    public RunResult RunNative(string command, TimeSpan timeout) =>
        RunInChroot(command, new Dictionary<string, string>
        {
            ["VK_DRIVER_FILES"] = LavapipeIcd,
            ["XDG_RUNTIME_DIR"] = "/tmp",
            ["NODEVICE_SELECT"] = "1",
        }, timeout);

    /// <summary>Runs <paramref name="command"/> with <c>sh -c</c> inside the chroot with the given environment added.</summary>
    public RunResult RunInChroot(string command, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var arguments = new List<string> { PeersRoot, "env" };
        if (environment is not null)
            foreach ((string key, string value) in environment)
                arguments.Add($"{key}={value}");
        arguments.AddRange(["sh", "-c", command]);
        return ProcessRun.Run("chroot", arguments, timeout);
    }

    private VulkanInfoReference MeasureVirglReference()
    {
        using RunningHost host = StartHost(HostKind.VirglRenderer);
        GuestRun summary = RunGuest(host, "vulkaninfo --summary", VulkanInfoTimeout);
        if (!summary.Run.Succeeded)
            throw new InvalidOperationException($"reference vulkaninfo --summary failed:\n{summary}");
        GuestRun full = RunGuest(host, "vulkaninfo", VulkanInfoTimeout);
        if (!full.Run.Succeeded)
            throw new InvalidOperationException($"reference vulkaninfo failed:\n{full}");
        return new VulkanInfoReference(summary, VulkanInfoSummary.Parse(summary.Run.Stdout), full,
            VulkanInfoFull.Parse(full.Run.Stdout));
    }

    public static readonly TimeSpan VulkanInfoTimeout = TimeSpan.FromSeconds(60);

    public void Dispose()
    {
        if (_clients.IsValueCreated)
            _clients.Value.Dispose();
    }
}

/// <summary>One guest program run against one host, with what the host said meanwhile.</summary>
public sealed record GuestRun(HostLauncher Host, RunResult Run, bool HostAliveAfter, string HostLogTail)
{
    public override string ToString() =>
        $"guest run against {Host.DisplayName}:\n{Run}\n" +
        $"--- host {(HostAliveAfter ? "still running" : "NOT running any more")}; host log (last lines) ---\n{HostLogTail}\n" +
        "(VENUS_INTEROP_VN_DEBUG=init,result,log_ctx_info adds Mesa's guest log to stderr; VENUS_INTEROP_KEEP_LOGS=1 keeps the host logs)";
}

[CollectionDefinition(Name)]
public sealed class InteropCollection : ICollectionFixture<InteropFixture>
{
    public const string Name = "Venus interop (Mesa guest vs hosts)";
}

/// <summary>vulkaninfo through Mesa's venus against virglrenderer 1.1.0: what venus-host is compared with.</summary>
public sealed record VulkanInfoReference(GuestRun SummaryRun, VulkanInfoSummary Summary, GuestRun FullRun, VulkanInfoFull Full);
