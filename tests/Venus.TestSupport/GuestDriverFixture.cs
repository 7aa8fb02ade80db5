namespace Venus.TestSupport;

/// <summary>
/// What the test projects that run Vulkan programs in the peers chroot through a guest driver share
/// (Venus.GuestIcd.Tests, Venus.Apps.Tests): the chroot, our guest ICD (<c>libvenus_icd.so</c>)
/// installed into it once per run with <c>bash eng/icd.sh install</c>, tests/clients compiled there,
/// one long-lived host of each kind (<see cref="HostLauncher"/>), and the three ways to run a program:
/// natively on the chroot's lavapipe, through our ICD, and through Mesa 25.0.7's venus guest. Each
/// runs in a clean environment (<c>env -i</c>) that selects its driver with <c>VK_DRIVER_FILES</c> and,
/// for the guests, the host with <c>VN_DEBUG=vtest VTEST_SOCKET_NAME=...</c>. Nothing is skipped: a
/// missing prerequisite (chroot, ICD build, host, client build) fails every test that needs it, with
/// the reason.
/// </summary>
public abstract class GuestDriverFixture : IDisposable
{
    public const string LavapipeIcd = "/usr/share/vulkan/icd.d/lvp_icd.json";
    public const string MesaVenusIcd = "/usr/share/vulkan/icd.d/virtio_icd.json";

    private readonly string _socketPrefix;
    private readonly Lazy<string> _peersRoot;
    private readonly Lazy<IcdInstall> _icd;
    private readonly Lazy<ClientBuild> _clients;
    private readonly Lock _gate = new();
    private readonly Dictionary<HostKind, RunningHost> _sharedHosts = [];

    /// <param name="socketPrefix">Names this project's host sockets and client build folder under the chroot's /tmp.</param>
    protected GuestDriverFixture(string socketPrefix)
    {
        _socketPrefix = socketPrefix;
        RepoRoot = PeersEnvironment.FindRepoRoot();
        _peersRoot = new Lazy<string>(() => PeersEnvironment.EnsureChroot(RepoRoot));
        _icd = new Lazy<IcdInstall>(() => IcdInstall.Install(RepoRoot, PeersRoot));
        _clients = new Lazy<ClientBuild>(() => ClientBuild.Build(RepoRoot, PeersRoot, socketPrefix + "-clients"));
    }

    /// <summary>The folder holding Venus.sln.</summary>
    public string RepoRoot { get; }

    /// <summary>The trixie chroot (eng/peers.sh ensure).</summary>
    public string PeersRoot => _peersRoot.Value;

    /// <summary>Our ICD, installed into the chroot once per run (the exception of a failed install is kept and rethrown).</summary>
    public IcdInstall Icd => _icd.Value;

    /// <summary>tests/clients compiled inside the chroot, once.</summary>
    public ClientBuild Clients => _clients.Value;

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
        HostLauncher.For(kind).Start(RepoRoot, PeersRoot, options, _socketPrefix);

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
            }
            host = StartHost(kind);
            _sharedHosts[kind] = host;
            return host;
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

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
            return;
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

/// <summary>One program run through a guest driver against one host, with what the host logged meanwhile.</summary>
public sealed record DriverRun(string Driver, RunningHost Host, RunResult Run, bool HostAliveAfter, string HostLogTail)
{
    public override string ToString() =>
        $"through {Driver} against {Host}:\n{Run}\n" +
        $"--- host {(HostAliveAfter ? "still running" : "NOT running any more")}; host log (last lines) ---\n{HostLogTail}\n" +
        "(VENUS_ICDTEST_VENUS_DEBUG sets VENUS_DEBUG for our ICD, default init,result; VENUS_INTEROP_KEEP_LOGS=1 keeps the host logs)";
}
