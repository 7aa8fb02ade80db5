namespace Venus.Apps.Tests;

/// <summary>Where an application runs besides natively on the chroot's lavapipe.</summary>
public enum GuestPath
{
    /// <summary>Our guest ICD on venus-host: must give native's output.</summary>
    OursOnVenusHost,

    /// <summary>
    /// Our guest ICD on virglrenderer 1.1.0, which cannot export lavapipe's host-visible memory as a blob:
    /// native's output, or a clean failure at that export and never output that differs.
    /// </summary>
    OursOnVirglRenderer,

    /// <summary>Mesa 25.0.7's venus guest on venus-host (the control for our host): must give native's output.</summary>
    MesaOnVenusHost,
}

/// <summary>
/// Real applications (Debian packages in the peers chroot) run natively and through a guest driver
/// (<see cref="GuestPath"/>) on one shared venus-host and one shared virglrenderer: the
/// <see cref="GuestDriverFixture"/> plus each application's packages, installed on first use with
/// <c>bash eng/peers.sh install PKG:PATH...</c> (idempotent). A package that cannot be installed fails
/// the tests of its application with the reason. Mesa's guest is not run on virglrenderer: it hangs in
/// vkMapMemory there (peers.md).
/// </summary>
public sealed class AppsFixture : GuestDriverFixture
{
    public const string SocketPrefix = "venus-apps";

    /// <summary>apt-get into the chroot: a few hundred MB on a fresh one (ffmpeg's libraries).</summary>
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Lazy<string>> _installs = [];

    public AppsFixture() : base(SocketPrefix)
    {
    }

    /// <summary>
    /// Mesa 25.0.7's venus guest keeps per-thread data under a pthread key whose destructor lives in
    /// libvulkan_virtio.so; the loader unloads that library at vkDestroyInstance, and an application
    /// thread that called Vulkan and exits later (GStreamer's streaming thread) then jumps into
    /// unmapped code (SIGSEGV in __nptl_deallocate_tsd, 2–6 of 10 gst-launch runs here, none with
    /// unloading off). That is Mesa's guest alone, so its runs keep the library loaded; our ICD gets no
    /// such help.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> MesaWorkaround =
        new Dictionary<string, string> { ["VK_LOADER_DISABLE_DYNAMIC_LIBRARY_UNLOADING"] = "1" };

    /// <summary>
    /// Installs <paramref name="packages"/> (each <c>PKG:PATH</c>, PATH inside the chroot) once per run and
    /// returns what the install said; throws with the reason (the same exception for every later caller).
    /// </summary>
    public string EnsurePackages(string app, IReadOnlyList<string> packages)
    {
        Lazy<string> install;
        lock (_gate)
        {
            if (!_installs.TryGetValue(app, out install!))
            {
                install = new Lazy<string>(() => Install(app, packages));
                _installs[app] = install;
            }
        }
        return install.Value;
    }

    private string Install(string app, IReadOnlyList<string> packages)
    {
        if (packages.Count == 0)
            return $"{app}: no packages needed";
        RunResult run = ProcessRun.Run("bash", [Path.Combine(RepoRoot, "eng", "peers.sh"), "install", .. packages],
            InstallTimeout, RepoRoot);
        if (!run.Succeeded)
            throw new InvalidOperationException(
                $"{app} cannot be tested: `bash eng/peers.sh install {string.Join(' ', packages)}` failed:\n{run}");
        return $"{app}: {string.Join(", ", packages.Select(p => p.Split(':')[0]))} present ({run.Wall.TotalSeconds:0.0} s)";
    }

    /// <summary>How often the native control is tried before the case fails: lavapipe itself crashes now and then.</summary>
    public const int NativeAttempts = 3;

    private readonly Dictionary<string, Lazy<(RunResult Run, string Log)>> _natives = [];

    /// <summary>
    /// The native control for <paramref name="command"/>, run once per test run and shared by every
    /// <see cref="GuestPath"/> of the case. Native lavapipe under GStreamer dies of SIGSEGV now and then
    /// on a loaded machine (1 run in 30 on 2 busy cores, after printing all its buffers, with or without
    /// the loader unloading it), which is lavapipe's fault, not the stack's under test: a run killed by a
    /// signal is tried again, up to <see cref="NativeAttempts"/> times, and every try is in the log. A
    /// clean non-zero exit or a hang is not retried.
    /// </summary>
    public (RunResult Run, string Log) NativeReference(string command, TimeSpan timeout)
    {
        Lazy<(RunResult, string)> native;
        lock (_gate)
        {
            if (!_natives.TryGetValue(command, out native!))
            {
                native = new Lazy<(RunResult, string)>(() => RunNativeControl(command, timeout));
                _natives[command] = native;
            }
        }
        return native.Value;
    }

    private (RunResult, string) RunNativeControl(string command, TimeSpan timeout)
    {
        var log = new System.Text.StringBuilder();
        for (int attempt = 1; ; attempt++)
        {
            RunResult run = RunNative(command, timeout);
            if (run.Signal is not { } signal || run.TimedOut || attempt == NativeAttempts)
                return (run, log.ToString());
            log.Append($"native try {attempt} of {NativeAttempts} died of {signal} (lavapipe); trying again\n");
        }
    }

    /// <summary>Runs <paramref name="command"/> (sh -c in the chroot) on <paramref name="path"/>, on the shared host it needs.</summary>
    public DriverRun RunOn(GuestPath path, string command, TimeSpan timeout) => path switch
    {
        GuestPath.OursOnVenusHost => RunThroughIcd(SharedHost(HostKind.VenusHost), command, timeout),
        GuestPath.OursOnVirglRenderer => RunThroughIcd(SharedHost(HostKind.VirglRenderer), command, timeout),
        GuestPath.MesaOnVenusHost => RunThroughMesa(SharedHost(HostKind.VenusHost), command, timeout, MesaWorkaround),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, null),
    };

    public static string Describe(GuestPath path) => path switch
    {
        GuestPath.OursOnVenusHost => "ours on venus-host",
        GuestPath.OursOnVirglRenderer => "ours on virglrenderer",
        GuestPath.MesaOnVenusHost => "Mesa on venus-host",
        _ => path.ToString(),
    };
}

[CollectionDefinition(Name)]
public sealed class AppsCollection : ICollectionFixture<AppsFixture>
{
    public const string Name = "Real applications: native vs through a guest driver";
}
